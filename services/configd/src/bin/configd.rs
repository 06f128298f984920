//! `configd`: serves SerenityOS's `ConfigServer` interface from INI files.
//! See the crate's README; the code is [`courier_configd::cli`].
#![deny(unsafe_code)]

fn main() -> std::process::ExitCode {
    courier_configd::cli::main_with_args(std::env::args_os())
}
