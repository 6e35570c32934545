//! JSON lines in a file, rotated by size, fsync'd per batch.
//!
//! A batch is appended with one `write_all` and made durable with one
//! `fdatasync` before it is acknowledged. Rotation renames `events.jsonl`
//! to `events.jsonl.1` (shifting older files up to `.keep`, deleting the
//! one beyond) and syncs the directory, so a crash leaves either the old or
//! the new name, never neither.
//!
//! A crash can leave a torn last line. On open the writer ends such a line
//! with a newline so the next batch starts clean, and readers skip lines
//! that do not parse: a torn line was never acknowledged.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::StoreError;
use crate::event::{AuditEvent, EventQuery};

/// The file sink: the writer's state behind a lock (only the recorder's
/// writer task takes it), plus what readers need.
#[derive(Debug, Clone)]
pub(crate) struct FileSink {
    path: PathBuf,
    max_bytes: u64,
    keep: u32,
    writer: Arc<Mutex<Option<Current>>>,
}

#[derive(Debug)]
struct Current {
    file: File,
    len: u64,
}

fn io_error(path: &Path, source: std::io::Error) -> StoreError {
    StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl FileSink {
    pub(crate) fn new(path: PathBuf, max_bytes: u64, keep: u32) -> Self {
        FileSink {
            path,
            max_bytes: max_bytes.max(1),
            keep: keep.max(1),
            writer: Arc::new(Mutex::new(None)),
        }
    }

    /// The `n`th rotated file (`n` ≥ 1), or the current file for 0.
    pub(crate) fn rotated(&self, n: u32) -> PathBuf {
        if n == 0 {
            return self.path.clone();
        }
        let mut name = self.path.clone().into_os_string();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    /// Appends `lines` (whole JSON lines) and syncs them to disk. Blocking:
    /// the recorder calls it from `spawn_blocking`.
    pub(crate) fn append(&self, lines: &[u8]) -> Result<(), StoreError> {
        let mut guard = self
            .writer
            .lock()
            .map_err(|_| StoreError::WriteFailed("file writer lock poisoned".to_owned()))?;
        if guard.is_none() {
            *guard = Some(self.open_current()?);
        }
        let needs_rotation = guard
            .as_ref()
            .is_some_and(|c| c.len > 0 && c.len + lines.len() as u64 > self.max_bytes);
        if needs_rotation {
            // Close before renaming; the new file is opened below.
            *guard = None;
            self.rotate()?;
            *guard = Some(self.open_current()?);
        }
        let current = guard
            .as_mut()
            .ok_or_else(|| StoreError::WriteFailed("file not open".to_owned()))?;
        let result = current
            .file
            .write_all(lines)
            .and_then(|()| current.file.sync_data());
        match result {
            Ok(()) => {
                current.len += lines.len() as u64;
                Ok(())
            }
            Err(e) => {
                // Reopen next time: the length is unknown after a short write.
                *guard = None;
                Err(io_error(&self.path, e))
            }
        }
    }

    fn open_current(&self) -> Result<Current, StoreError> {
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(&self.path)
            .map_err(|e| io_error(&self.path, e))?;
        let mut len = file.metadata().map_err(|e| io_error(&self.path, e))?.len();
        if len > 0 {
            let mut last = [0u8; 1];
            file.seek(SeekFrom::Start(len - 1))
                .and_then(|_| file.read_exact(&mut last))
                .map_err(|e| io_error(&self.path, e))?;
            if last[0] != b'\n' {
                file.write_all(b"\n")
                    .and_then(|()| file.sync_data())
                    .map_err(|e| io_error(&self.path, e))?;
                len += 1;
            }
        }
        Ok(Current { file, len })
    }

    fn rotate(&self) -> Result<(), StoreError> {
        let oldest = self.rotated(self.keep);
        match std::fs::remove_file(&oldest) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(&oldest, e)),
        }
        for n in (0..self.keep).rev() {
            let from = self.rotated(n);
            let to = self.rotated(n + 1);
            match std::fs::rename(&from, &to) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_error(&from, e)),
            }
        }
        let dir = match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_error(&dir, e))
    }

    /// Reads events back, newest first: the current file, then `.1`,
    /// `.2`, ... Memory stays bounded by the query's limit, whatever the
    /// files' size. Blocking.
    pub(crate) fn query(&self, q: &EventQuery) -> Result<Vec<AuditEvent>, StoreError> {
        let limit = q.effective_limit();
        let mut out = Vec::new();
        for n in 0..=self.keep {
            let path = self.rotated(n);
            let file = match File::open(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_error(&path, e)),
            };
            // Lines are in time order: keep the last `want` matches.
            let want = limit - out.len();
            let mut newest: VecDeque<AuditEvent> = VecDeque::with_capacity(want.min(1024));
            for line in BufReader::new(file).split(b'\n') {
                let line = line.map_err(|e| io_error(&path, e))?;
                let Ok(event) = serde_json::from_slice::<AuditEvent>(&line) else {
                    continue;
                };
                if q.matches(&event) {
                    if newest.len() == want {
                        newest.pop_front();
                    }
                    newest.push_back(event);
                }
            }
            out.extend(newest.into_iter().rev());
            if out.len() >= limit {
                break;
            }
        }
        // Files are in time order; stable-sort in case clocks stepped back.
        out.sort_by_key(|e| std::cmp::Reverse(e.ts_millis()));
        Ok(out)
    }
}

impl FileSink {
    /// Streams events with `since_ms <= ts < until_ms` to `each`, oldest
    /// file first, until it returns `false`. Blocking.
    pub(crate) fn scan(
        &self,
        since_ms: Option<i64>,
        until_ms: Option<i64>,
        mut each: impl FnMut(AuditEvent) -> bool,
    ) -> Result<(), StoreError> {
        for n in (0..=self.keep).rev() {
            let path = self.rotated(n);
            let file = match File::open(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_error(&path, e)),
            };
            for line in BufReader::new(file).split(b'\n') {
                let line = line.map_err(|e| io_error(&path, e))?;
                let Ok(event) = serde_json::from_slice::<AuditEvent>(&line) else {
                    continue;
                };
                let ts = event.ts_millis();
                if since_ms.is_some_and(|s| ts < s) || until_ms.is_some_and(|u| ts >= u) {
                    continue;
                }
                if !each(event) {
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}

/// Serializes a batch as JSON lines.
pub(crate) fn encode_lines(events: &[AuditEvent]) -> Result<Vec<u8>, StoreError> {
    let mut buf = Vec::with_capacity(events.len() * 512);
    for event in events {
        serde_json::to_writer(&mut buf, event)?;
        buf.push(b'\n');
    }
    Ok(buf)
}

/// Writes a batch to standard output and flushes it.
pub(crate) fn write_stdout(lines: &[u8]) -> Result<(), StoreError> {
    let mut out = std::io::stdout().lock();
    out.write_all(lines)
        .and_then(|()| out.flush())
        .map_err(|e| io_error(Path::new("<stdout>"), e))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    fn event(n: u64) -> AuditEvent {
        AuditEvent::new(
            UNIX_EPOCH + Duration::from_secs(n),
            format!("r{n}"),
            "10.0.0.1",
        )
    }

    #[test]
    fn rotation_keeps_n_files_and_queries_span_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sink = FileSink::new(dir.path().join("events.jsonl"), 1024, 2);
        for n in 0..40 {
            let lines = encode_lines(&[event(n)]).expect("encode");
            sink.append(&lines).expect("append");
        }
        for n in 0..=2 {
            let len = std::fs::metadata(sink.rotated(n)).expect("file").len();
            assert!(len <= 1024, "file {n} is {len} bytes");
        }
        assert!(!sink.rotated(3).exists(), "only 2 rotated files are kept");
        let all = sink
            .query(&EventQuery {
                limit: 1000,
                ..EventQuery::default()
            })
            .expect("query");
        let ids: Vec<&str> = all.iter().map(|e| e.request_id.as_str()).collect();
        assert_eq!(ids.first(), Some(&"r39"), "newest first");
        assert!(ids.len() < 40, "the oldest events were rotated away");
        let expected: Vec<String> = (40 - ids.len()..40)
            .rev()
            .map(|n| format!("r{n}"))
            .collect();
        assert_eq!(ids, expected, "no gap, newest first");
        let two = sink
            .query(&EventQuery {
                limit: 2,
                ..EventQuery::default()
            })
            .expect("query");
        assert_eq!(two.len(), 2);
        assert_eq!(two[1].request_id, "r38");
    }

    #[test]
    fn a_torn_last_line_is_skipped_and_terminated() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("events.jsonl");
        let mut torn = encode_lines(&[event(1)]).expect("encode");
        torn.extend_from_slice(br#"{"ts":"2026-"#);
        std::fs::write(&path, &torn).expect("write");
        let sink = FileSink::new(path, 1 << 20, 1);
        sink.append(&encode_lines(&[event(2)]).expect("encode"))
            .expect("append");
        let ids: Vec<String> = sink
            .query(&EventQuery::default())
            .expect("query")
            .into_iter()
            .map(|e| e.request_id)
            .collect();
        assert_eq!(ids, ["r2", "r1"]);
    }
}
