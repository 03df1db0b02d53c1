//! `open_enum!`: the one way this crate declares a numeric code point.
//!
//! Registries grow (IANA adds a STUN attribute, a TLS extension, an RTCP
//! packet type), and a passive parser must keep going when it meets a value
//! it has no name for. So each code point is an *open* enum: one variant per
//! value the crate names, and a catch-all variant holding any other value as
//! read. A new value is never an error, and nothing is lost: the raw value
//! can always be recovered. The idea is smoltcp's `enum_with_unknown!`.
//!
//! ```text
//! open_enum! {
//!     /// What the enum is (the doc comment and any attributes pass through).
//!     pub enum AddressFamily: u8 {
//!         /// IPv4.
//!         Ipv4 = 0x01,
//!         /// IPv6.
//!         Ipv6 = 0x02,
//!     } else {
//!         /// Any other family byte.
//!         Unknown
//!     }
//! }
//! ```
//!
//! declares
//!
//! * `pub enum AddressFamily { Ipv4, Ipv6, Unknown(u8) }`, deriving `Debug`,
//!   `Clone`, `Copy`, `PartialEq`, `Eq` and `Hash`; each named variant's
//!   documentation ends with its code point, written as in the invocation;
//! * `pub const fn from_raw(u8) -> AddressFamily` and
//!   `pub const fn raw(self) -> u8`;
//! * `impl From<u8> for AddressFamily` and `impl From<AddressFamily> for u8`,
//!   the same two conversions for non-const code.
//!
//! The catch-all variant is named in the `else` block (`Unknown` everywhere
//! but in [`zoom`](crate::zoom), whose undocumented values are `Other`).
//!
//! When every variant is followed by `=> "NAME"`, the enum also gets
//! `pub const fn name(self) -> Option<&'static str>`: that name for a named
//! variant, `None` for the catch-all.
//!
//! `from_raw(v).raw() == v` for every `v`, and `from_raw` never puts a named
//! value in the catch-all. A catch-all built by hand around a named value
//! (`AddressFamily::Unknown(1)`) still converts to that value, but does not
//! compare equal to the named variant. Two variants with one value are a
//! compile-time warning (an unreachable pattern in `from_raw`).
//!
//! Code points that are not a plain one-to-one table stay hand-written: see
//! [`zoom::MediaType`](crate::zoom::MediaType) (several bytes per variant)
//! and [`rtcp::FeedbackKind`](crate::rtcp::FeedbackKind) (keyed by two
//! fields).

macro_rules! open_enum {
    // With a name per variant: the plain form, plus `name()`.
    (
        $(#[$meta:meta])*
        pub enum $name:ident: $raw:ty {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal => $text:literal, )*
        } else {
            $(#[$umeta:meta])*
            $unknown:ident
        }
    ) => {
        open_enum! {
            $(#[$meta])*
            pub enum $name: $raw {
                $( $(#[$vmeta])* $variant = $value, )*
            } else {
                $(#[$umeta])*
                $unknown
            }
        }

        impl $name {
            #[doc = concat!(
                "The name of a named code point; `None` for [`",
                stringify!($unknown), "`](Self::", stringify!($unknown), ")."
            )]
            pub const fn name(self) -> Option<&'static str> {
                match self {
                    $( $name::$variant => Some($text), )*
                    $name::$unknown(_) => None,
                }
            }
        }
    };

    (
        $(#[$meta:meta])*
        pub enum $name:ident: $raw:ty {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal, )*
        } else {
            $(#[$umeta:meta])*
            $unknown:ident
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $(
                $(#[$vmeta])*
                #[doc = concat!("Code point `", stringify!($value), "`.")]
                $variant,
            )*
            $(#[$umeta])*
            $unknown($raw),
        }

        impl $name {
            #[doc = concat!(
                "Decodes a code point; a value without a name gives [`",
                stringify!($unknown), "`](Self::", stringify!($unknown), ")."
            )]
            pub const fn from_raw(raw: $raw) -> $name {
                match raw {
                    $( $value => $name::$variant, )*
                    other => $name::$unknown(other),
                }
            }

            /// The code point, as on the wire.
            pub const fn raw(self) -> $raw {
                match self {
                    $( $name::$variant => $value, )*
                    $name::$unknown(raw) => raw,
                }
            }
        }

        impl From<$raw> for $name {
            fn from(raw: $raw) -> $name {
                $name::from_raw(raw)
            }
        }

        impl From<$name> for $raw {
            fn from(value: $name) -> $raw {
                value.raw()
            }
        }
    };
}

#[cfg(test)]
mod tests {
    open_enum! {
        /// A test code point.
        pub enum Plain: u8 {
            /// One.
            One = 1,
            Ten = 0x0a,
        } else {
            /// Anything else.
            Other
        }
    }

    open_enum! {
        /// A test code point with names.
        pub enum Named: u16 {
            Low = 0x0001 => "LOW",
            High = 0xff00 => "HIGH",
        } else {
            Unknown
        }
    }

    #[test]
    fn decodes_and_encodes_both_ways() {
        assert_eq!(Plain::from_raw(1), Plain::One);
        assert_eq!(Plain::from(10), Plain::Ten);
        assert_eq!(Plain::from_raw(2), Plain::Other(2));
        assert_eq!(u8::from(Plain::Ten), 0x0a);
        assert_eq!(Plain::Other(7).raw(), 7);
        for v in 0..=u8::MAX {
            assert_eq!(Plain::from_raw(v).raw(), v);
        }
    }

    #[test]
    fn names_only_the_named() {
        assert_eq!(Named::from_raw(0xff00).name(), Some("HIGH"));
        assert_eq!(Named::Low.name(), Some("LOW"));
        assert_eq!(Named::from_raw(2).name(), None);
        assert_eq!(u16::from(Named::Unknown(0x1234)), 0x1234);
    }

    #[test]
    fn every_crate_code_point_round_trips() {
        use crate::{rtcp, stun, tls, websocket, x509, zoom};
        for v in 0..=u8::MAX {
            assert_eq!(stun::AddressFamily::from_raw(v).raw(), v);
            assert_eq!(tls::ContentType::from_raw(v).raw(), v);
            assert_eq!(tls::HandshakeType::from_raw(v).raw(), v);
            assert_eq!(rtcp::RtcpPacketType::from_raw(v).raw(), v);
            assert_eq!(rtcp::SdesItemType::from_raw(v).raw(), v);
            assert_eq!(websocket::Opcode::from_raw(v).raw(), v);
            assert_eq!(x509::StringType::from_raw(v).raw(), v);
            assert_eq!(zoom::Direction::from_raw(v).raw(), v);
        }
        for v in 0..=u16::MAX {
            assert_eq!(stun::Method::from_raw(v).raw(), v);
            assert_eq!(stun::AttributeType::from_raw(v).raw(), v);
            assert_eq!(tls::ExtensionType::from_raw(v).raw(), v);
            assert_eq!(tls::SrtpProfile::from_raw(v).raw(), v);
        }
    }
}
