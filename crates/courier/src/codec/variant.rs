//! `Variant2` .. `Variant6`: SerenityOS's `Variant<A, B, ...>`.

use crate::{Decode, Encode};

macro_rules! variant_type {
    ($(#[$meta:meta])* $name:ident, $count:literal: $($alt:ident($param:ident) = $index:literal),+) => {
        $(#[$meta])*
        ///
        /// On the wire: the alternative's index as a `u8` (`V0` is 0, `V1` is
        /// 1...), then its value. Decoding an index with no alternative fails
        /// with [`DecodeErrorKind::InvalidTag`](crate::codec::DecodeErrorKind::InvalidTag).
        ///
        /// The alternatives are named after their index rather than their
        /// type, so that `Variant<i32, i32>` works and the name says what
        /// goes on the wire.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
        #[courier(crate = "crate")]
        #[doc(alias = "Variant")]
        pub enum $name<$($param),+> {
            $(
                #[doc = concat!("The alternative of index ", stringify!($index), ".")]
                $alt($param),
            )+
        }

        impl<$($param),+> $name<$($param),+> {
            /// The number of alternatives.
            pub const COUNT: u8 = $count;

            /// The index of the alternative this value holds, as on the wire.
            pub fn index(&self) -> u8 {
                match self {
                    $( Self::$alt(_) => $index, )+
                }
            }
        }
    };
}

variant_type! {
    /// A value of one of two types: SerenityOS's `Variant<A, B>`.
    ///
    /// # Example
    ///
    /// ```
    /// use courier::Variant2;
    /// use courier::codec::{decode_from_parts, encode_to_parts};
    ///
    /// let value: Variant2<i32, String> = Variant2::V1("hi".to_owned());
    /// let (bytes, fds) = encode_to_parts(&value).unwrap();
    /// assert_eq!(bytes, [1, 2, 0, 0, 0, b'h', b'i']);
    /// assert_eq!(value.index(), 1);
    /// let back: Variant2<i32, String> = decode_from_parts(&bytes, fds).unwrap();
    /// assert_eq!(back, value);
    /// ```
    Variant2, 2: V0(A) = 0, V1(B) = 1
}

variant_type! {
    /// A value of one of three types: SerenityOS's `Variant<A, B, C>`.
    Variant3, 3: V0(A) = 0, V1(B) = 1, V2(C) = 2
}

variant_type! {
    /// A value of one of four types: SerenityOS's `Variant<A, B, C, D>`.
    Variant4, 4: V0(A) = 0, V1(B) = 1, V2(C) = 2, V3(D) = 3
}

variant_type! {
    /// A value of one of five types: SerenityOS's `Variant<A, B, C, D, E>`.
    Variant5, 5: V0(A) = 0, V1(B) = 1, V2(C) = 2, V3(D) = 3, V4(E) = 4
}

variant_type! {
    /// A value of one of six types: SerenityOS's `Variant<A, B, C, D, E, F>`.
    Variant6, 6: V0(A) = 0, V1(B) = 1, V2(C) = 2, V3(D) = 3, V4(E) = 4, V5(F) = 5
}
