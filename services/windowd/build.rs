//! Compiles windowd's two interfaces into `OUT_DIR`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    courier_build::compile(&["ipc/WindowServer.ipc", "ipc/WindowClient.ipc"])?;
    Ok(())
}
