//! `clipboardd`: the clipboard service. See the crate's README; the code is
//! [`courier_clipboardd::cli`].

fn main() -> std::process::ExitCode {
    courier_clipboardd::cli::main_with_args(std::env::args_os())
}
