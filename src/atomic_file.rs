//! Files written whole or not at all (checkpoints, web models, test vectors, downloads): the one
//! helper every file the crate writes for keeps goes through.
//!
//! 1. A temporary file `.<name>.<pid>.<random>.tmp` is created next to the target (same file
//!    system, so the rename below is atomic), mode 0644 like any file the user writes.
//! 2. The data go into it and are fsynced.
//! 3. It is renamed over the target, and the directory is fsynced so the rename itself survives a
//!    power cut. A reader finds the old file or the new one, never half of one.
//! 4. Temporaries of the same target left by writers that no longer run (killed with SIGKILL,
//!    which runs no destructor) are removed. The process id in the name tells them apart from a
//!    live writer's: two runs saving to the same path never delete each other's temporary file,
//!    both renames succeed, and the last one wins.
//!
//! A process stopped by SIGINT, SIGTERM or SIGHUP removes its temporary files first, once the
//! CLI has called [`remove_temporaries_on_signal`].

use std::ffi::c_char;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use crate::error::{Error, Result};

/// A file being written: commit it to put it in place, drop it to throw it away.
pub(crate) struct AtomicFile {
    file: std::fs::File,
    temp: PathBuf,
    target: PathBuf,
    /// Set once the temporary file has been renamed over the target (nothing to remove then).
    committed: bool,
    _registration: signal_cleanup::Registration,
}

impl AtomicFile {
    /// Starts writing `target` (its directory is created if needed).
    pub(crate) fn create(target: &Path) -> Result<Self> {
        let dir = directory_of(target);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        if target.is_dir() {
            return Err(Error::InvalidArgument(format!(
                "{} is a directory; give a file name to write to",
                target.display()
            )));
        }
        let prefix = format!("{}{}.", prefix(target), std::process::id());
        let mut attempt = 0;
        loop {
            // The name is registered for the signal handler *before* the file exists, so that no
            // moment is left in which a signal would find a file it does not know of.
            let temp = dir.join(format!("{prefix}{}.tmp", random_suffix()));
            let registration = signal_cleanup::register(&temp);
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            // An ordinary file, as any file the user writes (0644 less the umask), not a private one.
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o644);
            match options.open(&temp) {
                Ok(file) => {
                    return Ok(Self {
                        file,
                        temp,
                        target: target.to_path_buf(),
                        committed: false,
                        _registration: registration,
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 16 => attempt += 1,
                Err(e) => return Err(Error::io(target, e)),
            }
        }
    }

    /// The temporary file, to write into.
    pub(crate) fn file(&mut self) -> &mut std::fs::File {
        &mut self.file
    }

    /// The temporary file's path (for error messages).
    pub(crate) fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// Fsyncs the data, renames the file over the target, fsyncs the directory, and removes what
    /// dead writers of the same target left behind.
    pub(crate) fn commit(mut self) -> Result<()> {
        self.file.sync_all().map_err(|e| Error::io(&self.target, e))?;
        std::fs::rename(&self.temp, &self.target).map_err(|e| Error::io(&self.target, e))?;
        self.committed = true;
        sync_directory(&directory_of(&self.target))?;
        remove_stale_temporaries(&self.target);
        Ok(())
    }
}

impl Drop for AtomicFile {
    /// A write that was not committed leaves nothing behind.
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Six random letters and digits for a temporary file's name.
fn random_suffix() -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::rng();
    (0..6).map(|_| CHARS[rng.random_range(0..CHARS.len())] as char).collect()
}

/// Writes `bytes` to `target` whole or not at all (see the module documentation).
pub(crate) fn write(target: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = AtomicFile::create(target)?;
    // Errors name the file the user asked for (the temporary one is gone when they read it).
    // Written in two halves, so that the kill test can stop the process in the middle of the data.
    let (first, second) = bytes.split_at(bytes.len() / 2);
    file.file().write_all(first).map_err(|e| Error::io(target, e))?;
    pause_for_kill_test();
    file.file().write_all(second).map_err(|e| Error::io(target, e))?;
    file.commit()
}

/// The test that kills a run in the middle of a save (`tests/kill_and_resume.rs`) sets
/// `LENET_TUTOR_TEST_SAVE_PAUSE_MS` to hold the write halfway through the data, the moment a kill
/// must not hurt. Unset in every real run.
fn pause_for_kill_test() {
    if let Some(ms) = std::env::var("LENET_TUTOR_TEST_SAVE_PAUSE_MS").ok().and_then(|v| v.parse::<u64>().ok())
    {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

fn sync_directory(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        let handle = std::fs::File::open(dir).map_err(|e| Error::io(dir, e))?;
        handle.sync_all().map_err(|e| Error::io(dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Deletes the temporary files of `target` whose writer process no longer runs. Best effort: a
/// file that cannot be removed is left alone.
pub(crate) fn remove_stale_temporaries(target: &Path) {
    let prefix = prefix(target);
    let Ok(entries) = std::fs::read_dir(directory_of(target)) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let Some(rest) = name.strip_prefix(&prefix).and_then(|r| r.strip_suffix(".tmp")) else { continue };
        // `<pid>.<random>`; a name without a pid (older versions) has no live writer to protect.
        let pid = rest.split('.').next().and_then(|p| p.parse::<u32>().ok());
        if pid.is_none_or(|pid| !process_is_alive(pid)) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(unix)]
fn process_is_alive(pid: u32) -> bool {
    // 0 (and what does not fit a pid_t) names no process: kill(0, …) would ask about our group.
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    let result = unsafe { libc::kill(pid, 0) };
    result == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(not(unix))]
fn process_is_alive(pid: u32) -> bool {
    pid == std::process::id()
}

fn prefix(target: &Path) -> String {
    format!(".{}.", target.file_name().map(|n| n.to_string_lossy()).unwrap_or_default())
}

fn directory_of(target: &Path) -> PathBuf {
    match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Installs handlers for SIGINT, SIGTERM and SIGHUP that delete the temporary files of writes in
/// progress, then let the signal end the process as it would have (exit status 128 + signal).
/// For the command line; a library user (a notebook) keeps its own signal handling.
pub fn remove_temporaries_on_signal() {
    signal_cleanup::install();
}

/// The paths of the temporary files being written, where a signal handler can read them without
/// allocating or locking: a fixed table of slots, each a state and a buffer for one C string. No
/// allocation is kept or leaked (the fuzzers' leak checker runs over these writes too).
mod signal_cleanup {
    use std::cell::UnsafeCell;
    use std::sync::atomic::AtomicU8;

    use super::*;

    const SLOTS: usize = 32;
    /// Longer paths are not registered (the file is then only removed by its destructor or the
    /// next writer).
    const PATH_BYTES: usize = 4096;
    const FREE: u8 = 0;
    const WRITING: u8 = 1;
    const READY: u8 = 2;

    struct Slot {
        state: AtomicU8,
        path: UnsafeCell<[u8; PATH_BYTES]>,
    }

    // SAFETY: a slot's buffer is written only by the thread that moved its state from FREE to
    // WRITING, and read (by the handler) only while the state is READY.
    unsafe impl Sync for Slot {}

    static TABLE: [Slot; SLOTS] =
        [const { Slot { state: AtomicU8::new(FREE), path: UnsafeCell::new([0; PATH_BYTES]) } }; SLOTS];

    /// A path the handler removes until this is dropped.
    pub(super) struct Registration(Option<usize>);

    impl Drop for Registration {
        fn drop(&mut self) {
            if let Some(i) = self.0 {
                TABLE[i].state.store(FREE, Ordering::SeqCst);
            }
        }
    }

    /// Records `path` for the handler (not when the table is full or the path too long: the file
    /// is then only removed by its destructor or the next writer).
    pub(super) fn register(path: &Path) -> Registration {
        use std::os::unix::ffi::OsStrExt;
        let bytes = path.as_os_str().as_bytes();
        if bytes.len() >= PATH_BYTES || bytes.contains(&0) {
            return Registration(None);
        }
        for (i, slot) in TABLE.iter().enumerate() {
            if slot.state.compare_exchange(FREE, WRITING, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
                // SAFETY: this thread owns the slot (state WRITING) until it stores READY.
                let buffer = unsafe { &mut *slot.path.get() };
                buffer[..bytes.len()].copy_from_slice(bytes);
                buffer[bytes.len()] = 0;
                slot.state.store(READY, Ordering::SeqCst);
                return Registration(Some(i));
            }
        }
        Registration(None)
    }

    extern "C" fn on_signal(signal: libc::c_int) {
        for slot in &TABLE {
            if slot.state.load(Ordering::SeqCst) == READY {
                // SAFETY: a READY slot holds a NUL-terminated path; unlink is async-signal-safe.
                unsafe { libc::unlink(slot.path.get().cast::<c_char>()) };
            }
        }
        // SAFETY: restoring the default action and re-raising are async-signal-safe; the process
        // then ends as the signal says (the shell sees 128 + signal).
        unsafe {
            libc::signal(signal, libc::SIG_DFL);
            libc::raise(signal);
        }
    }

    pub(super) fn install() {
        for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            // SAFETY: the handler only does async-signal-safe work (atomic loads, unlink, signal, raise).
            unsafe {
                libc::signal(signal, on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_file_is_ordinary_and_only_dead_writers_temporaries_go() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("sub/model.safetensors");
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        // A dead writer's temporary (pid 0 is never a live process that writes files) and a live
        // one's (this process).
        let dead = target.with_file_name(".model.safetensors.0.abc123.tmp");
        let live = target.with_file_name(format!(".model.safetensors.{}.def456.tmp", std::process::id()));
        let old_style = target.with_file_name(".model.safetensors.xyz789.tmp");
        for f in [&dead, &live, &old_style] {
            std::fs::write(f, b"half").unwrap();
        }
        write(&target, b"new").unwrap();
        assert!(!dead.exists() && !old_style.exists(), "dead writers' temporaries are removed");
        assert!(live.exists(), "a live writer's temporary is left alone");
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&target).unwrap().permissions().mode() & 0o777, 0o644);
        }
    }

    #[test]
    fn a_dropped_write_leaves_nothing_and_a_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.bin");
        let mut file = AtomicFile::create(&target).unwrap();
        file.file().write_all(b"partial").unwrap();
        drop(file);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        let err = write(dir.path(), b"x").unwrap_err().to_string();
        assert!(err.contains("is a directory; give a file name"), "{err}");
    }

    #[test]
    fn many_threads_writing_one_path_all_succeed_and_the_file_is_whole() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("race.bin");
        std::thread::scope(|s| {
            for i in 0..8u8 {
                let target = &target;
                s.spawn(move || {
                    for _ in 0..20 {
                        write(target, &vec![i; 100_000]).unwrap();
                    }
                });
            }
        });
        let bytes = std::fs::read(&target).unwrap();
        assert_eq!(bytes.len(), 100_000);
        assert!(bytes.iter().all(|&b| b == bytes[0]), "one writer's bytes, whole");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary left");
    }
}
