//! `imaged`: decodes untrusted images for other processes, confined.
//!
//! Run `imaged --help` for the options; the README's `## imaged` section is
//! the manual. The code is [`courier_imaged::cli`].

fn main() -> std::process::ExitCode {
    courier_imaged::cli::main_with_args(std::env::args_os())
}
