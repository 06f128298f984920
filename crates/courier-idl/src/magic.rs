//! Endpoint magic numbers.

/// The endpoint magic of SerenityOS: the Jenkins one-at-a-time hash of the
/// endpoint's name.
///
/// ```
/// assert_eq!(courier_idl::magic::endpoint_magic("ClipboardServer"), 1329211611);
/// ```
pub fn endpoint_magic(name: &str) -> u32 {
    let mut hash: u32 = 0;
    for &byte in name.as_bytes() {
        hash = hash.wrapping_add(u32::from(byte));
        hash = hash.wrapping_add(hash << 10);
        hash ^= hash >> 6;
    }
    hash = hash.wrapping_add(hash << 3);
    hash ^= hash >> 11;
    hash = hash.wrapping_add(hash << 15);
    hash
}

#[cfg(test)]
mod tests {
    use super::endpoint_magic;

    #[test]
    fn serenity_reference_magics() {
        assert_eq!(endpoint_magic("ClipboardClient"), 4008793515);
        assert_eq!(endpoint_magic("ClipboardServer"), 1329211611);
        assert_eq!(endpoint_magic("LookupServer"), 3613307456);
    }
}
