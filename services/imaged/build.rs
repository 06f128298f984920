//! Compiles imaged's interfaces.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    courier_build::compile(&[
        "ipc/ImageDecoderServer.ipc",
        "ipc/ImageDecoderClient.ipc",
        "ipc/ImageDecoder.ipc",
    ])?;
    Ok(())
}
