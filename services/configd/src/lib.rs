//! configd: SerenityOS's ConfigServer on courier, and its typed client.
