//! imaged: SerenityOS's ImageDecoder on courier, confined, and its typed client.
