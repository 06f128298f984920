//! Compiles configd's two interfaces into `OUT_DIR`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    courier_build::compile(&["ipc/ConfigServer.ipc", "ipc/ConfigClient.ipc"])?;
    Ok(())
}
