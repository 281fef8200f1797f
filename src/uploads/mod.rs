//! Uploads: the files the window sends as bytes (it has no file-system access), each kept in a
//! private folder under a token until the action that reads it, and removed after.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{Error, Result};

/// How many uploads are kept waiting: a preview not followed by an import is dropped when newer
/// ones come, so that temporary files never pile up.
const KEPT: usize = 8;

/// The largest file the window may send: as large as a CSV file may be.
pub const MAX_BYTES: usize = crate::sheets::MAX_FILE_BYTES;

/// The files the window sent, by token.
#[derive(Default)]
pub struct Uploads {
    next: AtomicU64,
    files: Mutex<BTreeMap<u64, Upload>>,
}

impl Uploads {
    /// Keeps `bytes` as a file named like `name` (the header value the window sent: percent-
    /// encoded, as a header must be ASCII); returns its token.
    pub fn put(&self, name: &str, bytes: &[u8]) -> Result<u64> {
        if bytes.len() > MAX_BYTES {
            return Err(Error::Invalid(format!(
                "{name} : fichier de {} Mo, au-delà des {} Mo acceptés",
                bytes.len() / (1024 * 1024),
                MAX_BYTES / (1024 * 1024)
            )));
        }
        let name = percent_decoded(name)?;
        let upload = Upload::new(&name, bytes)?;
        let token = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        files.insert(token, upload);
        while files.len() > KEPT {
            files.pop_first();
        }
        Ok(token)
    }

    /// The file of `token`, kept for a later action (a preview).
    pub fn path(&self, token: u64) -> Result<std::path::PathBuf> {
        let files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        files.get(&token).map(|u| u.path.clone()).ok_or_else(gone)
    }

    /// The file of `token`, given up by the uploads: removed once the caller drops it.
    pub fn take(&self, token: u64) -> Result<Upload> {
        self.files.lock().unwrap_or_else(|e| e.into_inner()).remove(&token).ok_or_else(gone)
    }

    /// Runs `read` on the file of `token`; the file is removed only if it succeeded, so that an
    /// import refused (a column to map, a bad cell) can be tried again without sending it again.
    pub async fn used<T, F>(&self, token: u64, read: impl FnOnce(std::path::PathBuf) -> F) -> Result<T>
    where
        F: std::future::Future<Output = Result<T>>,
    {
        let done = read(self.path(token)?).await;
        if done.is_ok() {
            drop(self.take(token));
        }
        done
    }
}

fn gone() -> Error {
    Error::Invalid("fichier envoyé introuvable (trop ancien ?) : choisissez-le à nouveau".into())
}

/// `%C3%A9` -> `é`: the file name as the window encoded it for its header.
fn percent_decoded(text: &str) -> Result<String> {
    let bad = || Error::Invalid(format!("nom de fichier mal encodé « {text} »"));
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3).ok_or_else(bad)?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| bad())
}

/// A file received as bytes, in a private temporary folder: removed with it when dropped.
pub struct Upload {
    dir: std::path::PathBuf,
    pub path: std::path::PathBuf,
}

impl Upload {
    pub fn new(name: &str, bytes: &[u8]) -> Result<Upload> {
        let base = portable_name(name).ok_or_else(|| Error::Invalid(format!("nom de fichier invalide « {name} »")))?;
        let dir = private_dir()?;
        let upload = Upload { path: dir.join(base), dir };
        let io = |e: std::io::Error| Error::Io { path: upload.path.display().to_string(), source: e };
        let mut file = std::fs::OpenOptions::new();
        file.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
        std::io::Write::write_all(&mut file.open(&upload.path).map_err(io)?, bytes).map_err(io)?;
        Ok(upload)
    }
}

/// The last part of `name` as a file name every desktop system accepts: after a `/` or a `\`
/// (a Windows path); what Windows refuses in a name (`<>:"|?*`, control characters) replaced by
/// `_`, trailing dots and spaces dropped, a device's name (`CON`, `NUL`, `COM1`…) prefixed with
/// `_`. `None` for nothing left, or a hidden or relative name (`.`, `..`, `.bashrc`).
pub fn portable_name(name: &str) -> Option<String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let mut out: String =
        base.chars().map(|c| if c.is_control() || "<>:\"|?*".contains(c) { '_' } else { c }).collect();
    while out.ends_with(['.', ' ']) {
        out.pop();
    }
    if out.trim().is_empty() || out.starts_with('.') {
        return None;
    }
    let stem = out.split('.').next().unwrap_or("").trim_end().to_ascii_uppercase();
    let device = matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || ((stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.len() == 4
            && stem.as_bytes()[3].is_ascii_digit());
    if device {
        out.insert(0, '_');
    }
    Some(out)
}

/// A new directory only this user can enter, under a name no other local user can guess: another
/// account cannot plant a file or link at the path first, nor read the statement while it is there.
/// Created, never reused: an existing path of that name is an error and another name is drawn.
fn private_dir() -> Result<std::path::PathBuf> {
    use std::hash::{BuildHasher, Hasher};
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut last = None;
    for _ in 0..16 {
        // std seeds each RandomState from the OS's random source: unpredictable without a new crate.
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        h.write_u64(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
        let dir = std::env::temp_dir().join(format!("regie-upload-{:016x}", h.finish()));
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        match builder.create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some((dir, e)),
            Err(e) => return Err(Error::Io { path: dir.display().to_string(), source: e }),
        }
    }
    let (dir, e) = last.unwrap_or_else(|| (std::env::temp_dir(), std::io::ErrorKind::AlreadyExists.into()));
    Err(Error::Io { path: dir.display().to_string(), source: e })
}

impl Drop for Upload {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_any_system_become_names_every_system_accepts() {
        for (sent, kept) in [
            ("relevé.csv", Some("relevé.csv")),
            (r"C:\Users\Claire\Documents\relevé octobre.xlsx", Some("relevé octobre.xlsx")),
            (r"\\serveur\compta\releve.053", Some("releve.053")),
            ("/home/claire/relevé.csv", Some("relevé.csv")),
            ("relevé: octobre?.csv", Some("relevé_ octobre_.csv")),
            ("export \"paybox\" <2026>|*.csv", Some("export _paybox_ _2026___.csv")),
            ("inscriptions.csv. . ", Some("inscriptions.csv")),
            ("CON.csv", Some("_CON.csv")),
            ("com1", Some("_com1")),
            ("Console.csv", Some("Console.csv")),
            ("COM10.csv", Some("COM10.csv")),
            ("tab\there.csv", Some("tab_here.csv")),
            ("..", None),
            (r"C:\Users\", None),
            (".bashrc", None),
            ("   ", None),
        ] {
            assert_eq!(portable_name(sent).as_deref(), kept, "{sent:?}");
        }
    }

    #[test]
    fn uploads_are_private_unpredictable_and_removed() {
        let a = Upload::new("relevé.csv", b"Date;Libell\xe9;Montant\n").unwrap();
        let b = Upload::new("../../relevé.csv", b"x").unwrap();
        assert_ne!(a.dir, b.dir);
        assert_eq!(a.path.file_name().unwrap(), "relevé.csv");
        assert_eq!(b.path.parent().unwrap(), b.dir, "a path in the name stays inside the private folder");
        assert_eq!(std::fs::read(&a.path).unwrap(), b"Date;Libell\xe9;Montant\n");
        let name = a.dir.file_name().unwrap().to_string_lossy().into_owned();
        assert!(!name.starts_with(&format!("regie-upload-{}-", std::process::id())), "{name} is guessable");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&a.dir).unwrap().permissions().mode() & 0o777, 0o700);
            assert_eq!(std::fs::metadata(&a.path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let dir = a.dir.clone();
        drop(a);
        assert!(!dir.exists());
        assert!(Upload::new(".hidden", b"x").is_err());
    }

    #[test]
    fn uploads_are_kept_by_token_taken_once_and_never_pile_up() {
        let uploads = Uploads::default();
        let t = uploads.put("relev%C3%A9%20sept.csv", b"Date;Montant\n").unwrap();
        let path = uploads.path(t).unwrap();
        assert_eq!(path.file_name().unwrap(), "relevé sept.csv");
        assert_eq!(std::fs::read(&path).unwrap(), b"Date;Montant\n");
        let taken = uploads.take(t).unwrap();
        assert!(uploads.take(t).is_err(), "taken once");
        drop(taken);
        assert!(!path.exists(), "removed once used");
        let tokens: Vec<u64> = (0..KEPT + 3).map(|i| uploads.put(&format!("f{i}.csv"), b"x").unwrap()).collect();
        assert!(uploads.path(tokens[0]).is_err(), "the oldest are dropped");
        assert!(uploads.path(tokens[KEPT + 2]).is_ok());
        assert!(uploads.put("%E9.csv", b"x").is_err(), "not UTF-8");
        assert!(uploads.put("%4.csv", b"x").is_err());
    }

    #[tokio::test]
    async fn a_file_refused_stays_for_another_try_and_goes_once_used() {
        let uploads = Uploads::default();
        let t = uploads.put("r.csv", b"x").unwrap();
        let refused: Result<()> = uploads.used(t, |_| async { Err(Error::Invalid("colonne à indiquer".into())) }).await;
        assert!(refused.is_err());
        let n = uploads.used(t, |p| async move { Ok(std::fs::read(p).unwrap().len()) }).await.unwrap();
        assert_eq!(n, 1);
        assert!(uploads.path(t).is_err(), "gone once used");
    }
}
