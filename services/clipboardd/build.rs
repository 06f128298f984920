//! Compiles clipboardd's two interfaces into `OUT_DIR`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    courier_build::compile(&["ipc/ClipboardServer.ipc", "ipc/ClipboardClient.ipc"])?;
    Ok(())
}
