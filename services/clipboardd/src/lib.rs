//! clipboardd: SerenityOS's Clipboard on courier, and its typed client.
