//! Compiles the crate's interfaces, exactly as a user's build script would.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    courier_build::Config::new()
        // `Geometry::Point3` in Kitchen.ipc is `crate::geometry::Point3`;
        // `Shape` and `Fill` keep the default path (`super::Shape`).
        .map_type("Geometry::Point3", "crate::geometry::Point3")
        .compile(&[
            "ipc/WindowServer.ipc",
            "ipc/WindowClient.ipc",
            "ipc/ImageDecoder.ipc",
            "ipc/LookupServer.ipc",
            "ipc/Kitchen.ipc",
            "ipc/HelperNames.ipc",
            "ipc/Echo.ipc",
        ])?;
    Ok(())
}
