//! Server secrets generated on first start and kept in the data file (never sent or logged).

use rand::RngCore;
use redb::ReadableTable;

use super::tables::SECRETS;
use super::Store;
use crate::model::AppError;

/// The key that signs "known device" cookies.
pub const DEVICE_COOKIE_KEY: &str = "device-cookie-key";

/// The secret `name` (64 random bytes), created on first use.
pub fn get_or_create(store: &Store, name: &'static str) -> Result<Vec<u8>, AppError> {
    store.write_blocking(|tx| {
        let mut t = tx.open_table(SECRETS)?;
        if let Some(v) = t.get(name)? {
            return Ok(v.value().to_vec());
        }
        let mut bytes = vec![0u8; 64];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        t.insert(name, bytes.as_slice())?;
        Ok(bytes)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_made_once_and_kept() {
        let store = Store::memory();
        let a = get_or_create(&store, DEVICE_COOKIE_KEY).unwrap();
        let b = get_or_create(&store, DEVICE_COOKIE_KEY).unwrap();
        assert_eq!(a.len(), 64);
        assert_eq!(a, b);
        assert_ne!(a, vec![0u8; 64]);
    }
}
