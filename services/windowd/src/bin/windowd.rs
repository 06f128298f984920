//! `windowd`: the window server demo. See the crate's README; the code is
//! [`courier_windowd::cli`].

fn main() -> std::process::ExitCode {
    courier_windowd::cli::main_with_args(std::env::args_os())
}
