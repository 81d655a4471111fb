//! Where numbered lines go. The writer thread only knows this trait, so a
//! test can stand in a writer that fails on purpose, and stdout is just
//! another sink.

use std::io::{self, Write};

/// One serialised event with the seq it was given; `text` ends in `\n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub seq: u64,
    pub text: String,
}

/// A failed [`Sink::write_lines`]: the first `written` lines were accepted,
/// the rest were not and will be offered again.
#[derive(Debug)]
pub struct SinkError {
    pub written: usize,
    pub error: io::Error,
}

pub trait Sink: Send {
    /// Appends `lines` in order. On error, the lines from `written` on must
    /// leave no trace a reader could see (a file sink cuts a torn write back
    /// off), because the writer offers them again and a reader must never
    /// find a seq twice or half a line.
    fn write_lines(&mut self, lines: &[Line]) -> Result<(), SinkError>;

    /// Makes accepted lines durable; called once, at shutdown.
    fn sync(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A sink over any `Write`: stdout, or a test's writer.
///
/// A plain writer cannot take back half a line, so a write that fails midway
/// may leave a fragment; that is acceptable for stdout (a convenience copy)
/// and for tests, and is why the event files use [`super::FileSink`] instead.
pub struct WriterSink<W> {
    out: W,
}

impl<W: Write + Send> WriterSink<W> {
    pub fn new(out: W) -> WriterSink<W> {
        WriterSink { out }
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: Write + Send> Sink for WriterSink<W> {
    fn write_lines(&mut self, lines: &[Line]) -> Result<(), SinkError> {
        for (i, line) in lines.iter().enumerate() {
            // Flushing per line keeps "accepted" honest for buffered writers:
            // a line reported written has left our hands.
            self.out
                .write_all(line.text.as_bytes())
                .and_then(|()| self.out.flush())
                .map_err(|error| SinkError { written: i, error })?;
        }
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
