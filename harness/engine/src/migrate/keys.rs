//! Legacy integer keys <-> PostgreSQL UUIDs, reversibly and without a
//! lookup table, for tables whose mapping asks for UUID keys
//! (`rule = "key"` with a `uuid_tag`).
//!
//! A legacy app numbers rows per table, so the same integer names rows of
//! several tables. The UUID *is* the pair (table tag, legacy id), so the
//! export and the verification decode it without a mapping table:
//!
//! ```text
//! byte  0..4   5e ed 7a b1    magic: marks a UUID made here
//! byte  4      table tag      the mapping's uuid_tag
//! byte  5      00             reserved
//! byte  6      80             version 8 ("custom", RFC 9562)
//! byte  7      id bits 63..56
//! byte  8      80             variant 10xx (RFC 9562)
//! byte  9..16  id bits 55..0
//! ```
//!
//! The whole i64 fits (ids beyond i32 and negative ids survive); within a
//! table the UUIDs of non-negative ids sort in id order, so bulk loads
//! append to the right edge of the primary-key b-tree. A UUID made anywhere
//! else does not carry the magic and decodes to `None`: the export gives
//! such a row a new legacy id. The reference app's generator writes the
//! same codec through this module.

use uuid::Uuid;

const MAGIC: [u8; 4] = [0x5e, 0xed, 0x7a, 0xb1];
const VERSION_BYTE: u8 = 0x80;
const VARIANT_BYTE: u8 = 0x80;

/// The UUID of row `legacy_id` of the table tagged `tag`.
pub fn encode(tag: u8, legacy_id: i64) -> Uuid {
    let id = legacy_id.to_be_bytes();
    let mut b = [0u8; 16];
    b[0..4].copy_from_slice(&MAGIC);
    b[4] = tag;
    b[6] = VERSION_BYTE;
    b[7] = id[0];
    b[8] = VARIANT_BYTE;
    b[9..16].copy_from_slice(&id[1..8]);
    Uuid::from_bytes(b)
}

/// The tag and legacy id a UUID from [`encode`] carries; `None` for any
/// other UUID.
pub fn decode_any(uuid: Uuid) -> Option<(u8, i64)> {
    let b = uuid.as_bytes();
    if b[0..4] != MAGIC || b[5] != 0 || b[6] != VERSION_BYTE || b[8] != VARIANT_BYTE {
        return None;
    }
    let mut id = [0u8; 8];
    id[0] = b[7];
    id[1..8].copy_from_slice(&b[9..16]);
    Some((b[4], i64::from_be_bytes(id)))
}

/// The first five bytes (magic and tag) every UUID of the table tagged
/// `tag` starts with, in hex: what SQL compares to tell such UUIDs apart.
pub fn prefix_hex(tag: u8) -> String {
    format!("{}{tag:02x}", hex::encode(MAGIC))
}

/// The legacy id of `uuid` if it encodes a row of the table tagged `tag`.
pub fn decode(tag: u8, uuid: Uuid) -> Option<i64> {
    match decode_any(uuid) {
        Some((t, id)) if t == tag => Some(id),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_prefix_is_what_encode_writes() {
        let u = encode(7, 42);
        assert!(hex::encode(u.as_bytes()).starts_with(&prefix_hex(7)));
        assert!(!hex::encode(u.as_bytes()).starts_with(&prefix_hex(8)));
    }

    proptest! {
        /// Property: decode(encode(tag, id)) == id for every tag and i64.
        #[test]
        fn round_trip_is_identity(tag in any::<u8>(), id in any::<i64>()) {
            prop_assert_eq!(decode_any(encode(tag, id)), Some((tag, id)));
            prop_assert_eq!(decode(tag, encode(tag, id)), Some(id));
        }

        /// Property: a random (v4) UUID never decodes.
        #[test]
        fn random_uuids_do_not_decode(bytes in any::<[u8; 16]>()) {
            let u = uuid::Builder::from_random_bytes(bytes).into_uuid();
            prop_assert_eq!(decode_any(u), None);
        }
    }
}
