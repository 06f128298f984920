//! Compiles the benchmark's interface.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    courier_build::compile(&["ipc/Bench.ipc"])?;
    Ok(())
}
