//! Compiles the interface of the integration tests' echo service
//! (`tests/ipc/Echo.ipc`) into `OUT_DIR`; the `courier` binary itself uses
//! none of it.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    courier_build::compile(&["tests/ipc/Echo.ipc"])?;
    Ok(())
}
