//! `Encode`/`Decode` for the standard types. (Filled in by the codec work.)
