//! jute primitives: the big-endian encoding every ZooKeeper record is made of.
//!
//! Decoding is strict and canonical: whatever decodes re-encodes to the same bytes.
//! That makes "decode then encode" a usable oracle in tests and fuzzing, and it is
//! why booleans must be 0 or 1 and why nullable fields are `Option`s.

use crate::error::{ProtoError, Result};

/// A cursor over a borrowed frame. Strings and buffers are returned as slices of
/// the frame, so decoding allocates only for vectors.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    #[inline]
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    #[inline]
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The bytes not read yet, without consuming them.
    #[inline]
    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    // Small and on every decode path: worth inlining across crates.
    #[inline]
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(ProtoError::Truncated {
                what,
                need: n,
                have: self.remaining(),
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    #[inline]
    pub fn take_rest(&mut self) -> &'a [u8] {
        let s = &self.buf[self.pos..];
        self.pos = self.buf.len();
        s
    }

    #[inline]
    pub fn i32(&mut self, what: &'static str) -> Result<i32> {
        let b = self.take(4, what)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    #[inline]
    pub fn i64(&mut self, what: &'static str) -> Result<i64> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(i64::from_be_bytes(a))
    }

    #[inline]
    pub fn bool(&mut self, what: &'static str) -> Result<bool> {
        match self.take(1, what)?[0] {
            0 => Ok(false),
            1 => Ok(true),
            byte => Err(ProtoError::BadBool { what, byte }),
        }
    }

    /// A length prefix: -1 is null, other negatives and lengths past the end of
    /// the frame are errors (checked before anything is allocated).
    #[inline]
    fn length(&mut self, what: &'static str) -> Result<Option<usize>> {
        let len = self.i32(what)?;
        match len {
            -1 => Ok(None),
            l if l < 0 => Err(ProtoError::BadLength { what, len }),
            l => Ok(Some(l as usize)),
        }
    }

    /// `buffer`: `None` is jute's null (length -1), distinct from an empty buffer.
    #[inline]
    pub fn buffer(&mut self, what: &'static str) -> Result<Option<&'a [u8]>> {
        match self.length(what)? {
            None => Ok(None),
            Some(n) => self.take(n, what).map(Some),
        }
    }

    /// `ustring` that may be null.
    #[inline]
    pub fn ustring_opt(&mut self, what: &'static str) -> Result<Option<&'a str>> {
        match self.buffer(what)? {
            None => Ok(None),
            Some(b) => std::str::from_utf8(b)
                .map(Some)
                .map_err(|_| ProtoError::BadUtf8 { what }),
        }
    }

    /// `ustring` where the protocol always sends a value.
    #[inline]
    pub fn ustring(&mut self, what: &'static str) -> Result<&'a str> {
        self.ustring_opt(what)?
            .ok_or(ProtoError::UnexpectedNull { what })
    }

    /// `vector` that may be null. `min_elem` is the smallest encoded size of one
    /// element; it bounds the count by the bytes left, so a hostile count can
    /// never make us allocate more than the frame could describe.
    pub fn vec_opt<T>(
        &mut self,
        what: &'static str,
        min_elem: usize,
        mut elem: impl FnMut(&mut Self) -> Result<T>,
    ) -> Result<Option<Vec<T>>> {
        let Some(n) = self.length(what)? else {
            return Ok(None);
        };
        if n.saturating_mul(min_elem.max(1)) > self.remaining() {
            return Err(ProtoError::BadLength {
                what,
                len: n as i32,
            });
        }
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(elem(self)?);
        }
        Ok(Some(out))
    }

    pub fn vec<T>(
        &mut self,
        what: &'static str,
        min_elem: usize,
        elem: impl FnMut(&mut Self) -> Result<T>,
    ) -> Result<Vec<T>> {
        self.vec_opt(what, min_elem, elem)?
            .ok_or(ProtoError::UnexpectedNull { what })
    }

    pub fn strings(&mut self, what: &'static str) -> Result<Vec<&'a str>> {
        self.vec(what, 4, |r| r.ustring(what))
    }

    /// Fails if anything is left: a record that does not fill its frame is
    /// either a different record or a corrupt one.
    #[inline]
    pub fn finish(&self, what: &'static str) -> Result<()> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(ProtoError::TrailingBytes { what, count }),
        }
    }
}

/// Writing jute into a caller-owned, reusable `Vec<u8>`.
pub trait JuteWrite {
    fn put_i32(&mut self, v: i32);
    fn put_i64(&mut self, v: i64);
    fn put_bool(&mut self, v: bool);
    fn put_buffer(&mut self, v: Option<&[u8]>);
    fn put_ustring(&mut self, v: &str);
    fn put_ustring_opt(&mut self, v: Option<&str>);
    fn put_strings(&mut self, v: &[&str]);
    /// Writes a vector's length prefix; the caller writes the elements.
    fn put_len(&mut self, len: usize);
}

impl JuteWrite for Vec<u8> {
    fn put_i32(&mut self, v: i32) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_i64(&mut self, v: i64) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_bool(&mut self, v: bool) {
        self.push(v as u8);
    }
    fn put_buffer(&mut self, v: Option<&[u8]>) {
        match v {
            None => self.put_i32(-1),
            Some(b) => {
                self.put_len(b.len());
                self.extend_from_slice(b);
            }
        }
    }
    fn put_ustring(&mut self, v: &str) {
        self.put_buffer(Some(v.as_bytes()));
    }
    fn put_ustring_opt(&mut self, v: Option<&str>) {
        self.put_buffer(v.map(str::as_bytes));
    }
    fn put_strings(&mut self, v: &[&str]) {
        self.put_len(v.len());
        for s in v {
            self.put_ustring(s);
        }
    }
    fn put_len(&mut self, len: usize) {
        // jute lengths are i32; anything larger could never be a valid frame.
        self.put_i32(i32::try_from(len).expect("jute length exceeds i32::MAX"));
    }
}

/// A jute record: decoded from a borrowed reader, encoded into a reusable buffer.
pub trait Record<'a>: Sized {
    fn read(r: &mut Reader<'a>) -> Result<Self>;
    fn write(&self, w: &mut Vec<u8>);

    /// Decodes a whole body that must hold exactly this record.
    fn decode(body: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new(body);
        let v = Self::read(&mut r)?;
        r.finish(std::any::type_name::<Self>())?;
        Ok(v)
    }

    fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.write(&mut v);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_and_empty_buffers_differ() {
        let mut w = Vec::new();
        w.put_buffer(None);
        w.put_buffer(Some(b""));
        assert_eq!(w, [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
        let mut r = Reader::new(&w);
        assert_eq!(r.buffer("a").unwrap(), None);
        assert_eq!(r.buffer("b").unwrap(), Some(&b""[..]));
        r.finish("t").unwrap();
    }

    #[test]
    fn hostile_vector_count_is_rejected_without_allocating() {
        let bytes = i32::MAX.to_be_bytes();
        let mut r = Reader::new(&bytes);
        let e = r.strings("children").unwrap_err();
        assert!(matches!(e, ProtoError::BadLength { .. }), "{e}");
    }

    #[test]
    fn negative_length_other_than_null_is_an_error() {
        let bytes = (-2i32).to_be_bytes();
        assert!(matches!(
            Reader::new(&bytes).buffer("data"),
            Err(ProtoError::BadLength { len: -2, .. })
        ));
    }

    #[test]
    fn bool_is_strict() {
        assert!(Reader::new(&[2]).bool("watch").is_err());
        assert!(Reader::new(&[1]).bool("watch").unwrap());
    }
}
