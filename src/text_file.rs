//! Text files written by Windows tools. Microsoft's documentation has customers save data with
//! PowerShell (`ConvertTo-Json | Out-File`, `Invoke-RestMethod … > file`), and Windows PowerShell
//! 5.1 writes those files as UTF-16LE with a byte-order mark; PowerShell 7 writes UTF-8, and
//! `Out-File -Encoding utf8` on 5.1 adds a UTF-8 BOM. Every reader of such a file (endpoint lists,
//! DKIM exports, tenant.toml) goes through [`decode`], so all of them accept the same encodings
//! and refuse the same garbage with the same message.

use std::path::Path;

/// Why bytes could not be read as text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// A UTF-16 file with an odd number of bytes after the BOM.
    #[error("UTF-16 text with an odd number of bytes (the file is truncated)")]
    OddUtf16,
    /// Unpaired surrogates in UTF-16.
    #[error("invalid UTF-16 at byte {0}")]
    BadUtf16(usize),
    /// Neither UTF-8 nor UTF-16.
    #[error(
        "not UTF-8 text (invalid byte at offset {0}); save the file as UTF-8 or UTF-16 with a byte-order mark"
    )]
    BadUtf8(usize),
}

/// The encodings [`decode`] recognises, for evidence and messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8 without a BOM.
    Utf8,
    /// UTF-8 with a BOM (`EF BB BF`).
    Utf8Bom,
    /// UTF-16 little-endian with a BOM (`FF FE`), as Windows PowerShell writes.
    Utf16Le,
    /// UTF-16 big-endian with a BOM (`FE FF`).
    Utf16Be,
    /// UTF-16 little-endian without a BOM, recognised by its zero high bytes.
    Utf16LeNoBom,
}

/// Decodes a whole file's bytes: a BOM decides the encoding; without one the bytes must be UTF-8,
/// except that ASCII-range text stored as UTF-16LE (every odd byte zero in the first characters, as
/// some tools write it without a BOM) is recognised too. The BOM is not part of the text.
pub fn decode(bytes: &[u8]) -> Result<(String, Encoding), DecodeError> {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return utf8(rest).map(|s| (s, Encoding::Utf8Bom));
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(rest, u16::from_le_bytes).map(|s| (s, Encoding::Utf16Le));
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return utf16(rest, u16::from_be_bytes).map(|s| (s, Encoding::Utf16Be));
    }
    if looks_like_utf16le(bytes) {
        return utf16(bytes, u16::from_le_bytes).map(|s| (s, Encoding::Utf16LeNoBom));
    }
    utf8(bytes).map(|s| (s, Encoding::Utf8))
}

/// Reads a file and decodes it; the error names the file.
pub fn read(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    decode(&bytes)
        .map(|(s, _)| s)
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn utf8(bytes: &[u8]) -> Result<String, DecodeError> {
    std::str::from_utf8(bytes)
        .map(str::to_owned)
        .map_err(|e| DecodeError::BadUtf8(e.valid_up_to()))
}

fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Result<String, DecodeError> {
    if !bytes.len().is_multiple_of(2) {
        return Err(DecodeError::OddUtf16);
    }
    let units = bytes.chunks_exact(2).map(|c| unit([c[0], c[1]]));
    let mut out = String::with_capacity(bytes.len() / 2);
    for (i, ch) in char::decode_utf16(units).enumerate() {
        out.push(ch.map_err(|_| DecodeError::BadUtf16(i * 2))?);
    }
    Ok(out)
}

/// Text such as `[\r\n  {` in UTF-16LE: a non-zero byte then a zero byte, for the first few
/// characters. UTF-8 text never contains NUL bytes, so this cannot misread real UTF-8.
fn looks_like_utf16le(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(16)];
    head.len() >= 4
        && head.len().is_multiple_of(2)
        && head.chunks_exact(2).all(|c| c[0] != 0 && c[1] == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16le_bom(s: &str) -> Vec<u8> {
        let mut b = vec![0xFF, 0xFE];
        b.extend(s.encode_utf16().flat_map(u16::to_le_bytes));
        b
    }

    #[test]
    fn every_encoding_powershell_writes() {
        let text = "[{\"Domain\":\"contoso.com\",\"표\":1}]\r\n";
        assert_eq!(
            decode(text.as_bytes()).unwrap(),
            (text.to_owned(), Encoding::Utf8)
        );
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend(text.as_bytes());
        assert_eq!(decode(&bom).unwrap().0, text);
        assert_eq!(
            decode(&utf16le_bom(text)).unwrap(),
            (text.to_owned(), Encoding::Utf16Le)
        );
        let mut be = vec![0xFE, 0xFF];
        be.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
        assert_eq!(decode(&be).unwrap().0, text);
        let no_bom: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert_eq!(
            decode(&no_bom).unwrap(),
            (text.to_owned(), Encoding::Utf16LeNoBom)
        );
        assert_eq!(decode(b"").unwrap().0, "");
    }

    #[test]
    fn garbage_is_refused_with_the_place() {
        assert_eq!(decode(&[b'[', 0xC3]).unwrap_err(), DecodeError::BadUtf8(1));
        assert_eq!(
            decode(&[0xFF, 0xFE, b'a']).unwrap_err(),
            DecodeError::OddUtf16
        );
        // A lone high surrogate.
        assert_eq!(
            decode(&[0xFF, 0xFE, 0x00, 0xD8, b'a', 0]).unwrap_err(),
            DecodeError::BadUtf16(0)
        );
    }
}
