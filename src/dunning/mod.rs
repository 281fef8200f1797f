//! Reminders (relances): overdue installments (a refused card debit, a transfer not received) climb
//! from a first reminder to a second and then the order's block; a run writes the letters.

pub use regie_rules::dunning::*;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::json;

use crate::card::export::response_words;
use crate::fees::School;
use crate::invoices::Typesetter;
use crate::money::Money;
use crate::page::{Page, PageQuery, given};
use crate::store::{self, Store, audit};
use crate::{Error, Result};
use regie_rules::settings::SchoolSettings;

/// One overdue installment as the Relances screen and `dunning list` show it.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub student_number: String,
    pub last_name: String,
    pub first_name: String,
    pub email: String,
    pub school: School,
    pub invoice: String,
    pub installment: i64,
    #[serde(skip)]
    pub installment_id: i64,
    pub due_date: NaiveDate,
    pub amount: Money,
    /// Why it is overdue, in words: "prélèvement refusé : provision insuffisante",
    /// "virement non reçu", "échéance impayée".
    pub reason: String,
    /// The level reached so far.
    pub level: Level,
    /// The day of the run that raised it to `level` (none before any reminder): the next level
    /// waits for it to be old enough.
    pub reminded_on: Option<NaiveDate>,
    /// The level a run on `as_of` raises it to.
    pub next_level: Level,
    transfer: bool,
}

/// What is overdue on `as_of`, with each installment's level and the level a run would give it.
pub async fn list(store: &Store, as_of: NaiveDate) -> Result<Vec<Entry>> {
    Ok(list_on(&mut *store.read().await?, as_of).await?.0)
}

/// `list`, read on `conn` (a run's transaction reads it there), with the schools' settings it
/// read the delays from: the letters take their bank details from them.
async fn list_on(conn: &mut store::Conn, as_of: NaiveDate) -> Result<(Vec<Entry>, Vec<SchoolSettings>)> {
    let settings = store::settings::school_settings(conn).await?;
    let rows = store::dunning::overdue(conn, as_of).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let school: School = r.school.parse()?;
        let s =
            settings.iter().find(|s| s.school == school).ok_or_else(|| Error::Invalid(format!("école {school}")))?;
        let next = next_level(Level::of(r.level), r.raised_on, r.due_date, r.refused_code.is_some(), as_of, s);
        if next == Level::None {
            continue;
        }
        out.push(entry(r, school, next));
    }
    Ok((out, settings))
}

/// An overdue installment as listed, with the level a run gives it.
fn entry(r: store::dunning::OverdueRow, school: School, next_level: Level) -> Entry {
    let transfer = r.plan.as_deref() == Some(crate::plans::PlanKind::Transfer.code());
    let reason = match (&r.refused_code, r.came_back, transfer) {
        (Some(code), _, _) => format!("prélèvement refusé : {}", response_words(code)),
        (None, true, _) => "paiement revenu impayé".to_string(),
        (None, false, true) => "virement non reçu".to_string(),
        (None, false, false) => "échéance impayée".to_string(),
    };
    Entry {
        student_number: r.student_number,
        last_name: r.last_name,
        first_name: r.first_name,
        email: r.email,
        school,
        invoice: r.invoice_number,
        installment: r.n,
        installment_id: r.installment_id,
        due_date: r.due_date,
        amount: Money::from_cents(r.left_cents),
        reason,
        level: Level::of(r.level),
        reminded_on: r.raised_on,
        next_level,
        transfer,
    }
}

/// What Relances asks for: a window of the overdue installments a run would leave at `level`
/// (`first`, `second`, `blocked`; all when none) whose student's number or name, or invoice,
/// holds the search; in the list's order (by due date). As typed: the core checks it.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct DunningQuery {
    pub level: Option<String>,
    #[serde(flatten)]
    pub page: PageQuery,
}

/// A window of the overdue installments, with the counts of the level buttons (none when the
/// page was asked for without its counts: `Count::Later`).
#[derive(Debug, Clone, Serialize)]
pub struct DunningPage {
    #[serde(flatten)]
    pub page: Page<Entry>,
    #[serde(flatten)]
    pub counts: Option<LevelCounts>,
}

/// What the level buttons and the run's button count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LevelCounts {
    /// All overdue installments, whatever the level filter.
    pub overdue: usize,
    pub first: usize,
    pub second: usize,
    pub blocked: usize,
    /// Those a run raises.
    pub raised: usize,
}

/// A window of what is overdue on `as_of`: the levels are computed by the database from the
/// schools' cutoffs (`Cutoffs`, the rule as dates), counted there, and only the window is read.
pub async fn page(store: &Store, as_of: NaiveDate, q: &DunningQuery) -> Result<DunningPage> {
    let window = q.page.window()?;
    q.page.unsorted("par échéance")?;
    let level = match given(&q.level) {
        None => None,
        Some("first") => Some(Level::First),
        Some("second") => Some(Level::Second),
        Some("blocked") => Some(Level::Blocked),
        Some(other) => return Err(Error::Invalid(format!("niveau inconnu « {other} » (first, second, blocked)"))),
    };
    let search = q.page.search();
    let mut conn = store.read().await?;
    let settings = store::settings::school_settings(&mut conn).await?;
    let cutoffs = |i: usize| match settings.get(i) {
        Some(s) => store::dunning::SchoolCutoffs { school: s.school.code(), cutoffs: Cutoffs::on(as_of, s) },
        // Both schools have their settings (a migration writes them); a missing one matches nothing.
        None => store::dunning::SchoolCutoffs { school: "", cutoffs: Cutoffs::none(as_of) },
    };
    let k = [cutoffs(0), cutoffs(1)];
    let rank = level.map(Level::rank);
    let (total, counts) = match q.page.counted() {
        false => (None, None),
        true => {
            let counts = store::dunning::level_counts(&mut conn, as_of, &k, rank, search.as_ref()).await?;
            let count = |l: Level| counts.iter().find(|c| c.0 == l.rank()).map_or(0, |c| c.1 as usize);
            let (first, second, blocked) = (count(Level::First), count(Level::Second), count(Level::Blocked));
            let raised = counts.iter().map(|c| c.2 as usize).sum();
            let overdue = first + second + blocked;
            let total = counts.iter().map(|c| c.3).sum();
            (Some(total), Some(LevelCounts { overdue, first, second, blocked, raised }))
        }
    };
    let rows = store::dunning::leveled_page(&mut conn, as_of, &k, rank, search.as_ref(), window).await?;
    let rows = rows
        .into_iter()
        .map(|r| {
            let school = r.row.school.parse()?;
            Ok(entry(r.row, school, Level::of(r.next_level)))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(DunningPage { page: Page { total, offset: window.offset(), rows }, counts })
}

/// What a run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunSummary {
    pub letters: usize,
    /// Installments whose level went up.
    pub raised: usize,
    /// Installments that reached the block this run.
    pub blocked: usize,
    /// Levels cleared because the installment was paid or cancelled since.
    pub cleared: usize,
    pub files: Vec<String>,
}

const MAIL_HEADERS: [&str; 13] = [
    "numero",
    "email",
    "nom",
    "prenom",
    "ecole",
    "niveau",
    "total_du",
    "depuis",
    "echeances",
    "paiement_carte",
    "virement_iban",
    "virement_reference",
    "rappel_precedent",
];

/// Runs the reminders on `as_of`, in one audited transaction: levels of paid or cancelled
/// installments are cleared (their block lifted); every overdue installment is raised one level
/// when the delays and its last reminder's age allow (`next_level`); each student with a raised
/// installment gets one letter (PDF in `out`, or one merged PDF) listing all that is overdue
/// (past a first reminder, with the day of the one before), and a line of the mail-merge file
/// (CSV and XLSX in `out`). Running twice on the same day raises nothing the second time; a
/// second run of the day that has letters (a debit refused since) numbers its files
/// (`relances-20251010-2.pdf`) rather than replace the first one's.
///
/// The letters take seconds to render (2,000 students: about 5 s), so they are rendered first,
/// from what the office reads, into a hidden folder of `out`, while the others go on recording
/// payments; the transaction then applies the run only if nothing was recorded meanwhile (every
/// money-changing action leaves an audit record), and the files move into `out` once it commits.
/// Otherwise the office is read again, and the letters rendered again only if what was recorded
/// changed them (a payment of an overdue installment does, a sign-in does not), one PDF each
/// only those that changed; the fourth time, under the write lock. The run's audit record says
/// how many times they were rendered and how many letters were laid out. A run
/// that fails before it commits leaves nothing in `out`; one whose files cannot all take their
/// place after it (a file of the same name open elsewhere) leaves them in a folder of `out` the
/// accountant sees (`relances-<date>-non-deplacees-N`), and says which.
pub async fn run(
    store: &Store,
    typesetter: &Typesetter,
    as_of: NaiveDate,
    out: &Path,
    merged: bool,
    actor: &str,
) -> Result<RunSummary> {
    // Letters go out on their date: a run dated later would raise levels nobody has reached yet.
    if as_of > chrono::Local::now().date_naive() {
        return Err(Error::Invalid(format!(
            "relances au {} : une relance ne se date pas dans le futur",
            as_of.format("%d/%m/%Y")
        )));
    }
    {
        let mut c = store.read().await?;
        crate::session::office_only(&mut c).await?;
        // Refused before `out` is made (checked again with each read of the office below).
        not_before_latest(&mut c, as_of).await?;
    }
    std::fs::create_dir_all(out).map_err(|e| Error::Io { path: out.display().to_string(), source: e })?;
    let mut staging = Staging::create(out)?;
    // The letters of the last attempt and their files.
    let mut staged: Option<(Letters, Vec<String>)> = None;
    let mut renders = Renders::default();
    for _ in 0..RENDERED_AHEAD {
        let (version, (entries, settings)) = {
            let mut c = store.read().await?;
            let version = audit::last_id(&mut c).await?;
            not_before_latest(&mut c, as_of).await?;
            (version, list_on(&mut c, as_of).await?)
        };
        let letters = Letters::of(&entries, &settings, as_of)?;
        let files = staging.files_of(&letters, staged.take(), &mut renders, typesetter, as_of, merged)?;
        let mut tx = store.begin().await?;
        crate::session::office_only(&mut tx).await?;
        if audit::last_id(&mut tx).await? == version {
            return apply(tx, &entries, &letters, as_of, actor, &mut staging, files, out, renders).await;
        }
        tx.rollback().await?;
        staged = Some((letters, files));
    }
    // The office kept changing the letters while they rendered: this time nobody can change it.
    let mut tx = store.begin().await?;
    crate::session::office_only(&mut tx).await?;
    not_before_latest(&mut tx, as_of).await?;
    let (entries, settings) = list_on(&mut tx, as_of).await?;
    let letters = Letters::of(&entries, &settings, as_of)?;
    let files = staging.files_of(&letters, staged, &mut renders, typesetter, as_of, merged)?;
    apply(tx, &entries, &letters, as_of, actor, &mut staging, files, out, renders).await
}

/// Refuses a run dated before the latest one: the wait between two reminders is counted between
/// their runs' dates, so a run dated back would send them closer together than the delays say.
async fn not_before_latest(conn: &mut store::Conn, as_of: NaiveDate) -> Result<()> {
    match store::dunning::latest_run(conn).await? {
        Some(latest) if as_of < latest => Err(Error::Invalid(format!(
            "relances au {} : la dernière relance est datée du {} ; une relance ne se date pas avant la précédente",
            as_of.format("%d/%m/%Y"),
            latest.format("%d/%m/%Y")
        ))),
        _ => Ok(()),
    }
}

/// What a run rendered: how many times (the first attempt, then each whose letters had
/// changed), and how many letters were laid out in all.
#[derive(Default)]
struct Renders {
    times: usize,
    letters: usize,
}

/// How many times a run reads the office before taking the write lock: each time, something
/// recorded meanwhile means reading it again, and rendering the letters again if they changed.
const RENDERED_AHEAD: usize = 3;

/// The run's writes, in `tx` (which saw the same overdue list as `letters`): the run, the cleared
/// and raised levels, the audit record; then the staged files move into `out`.
#[allow(clippy::too_many_arguments)]
async fn apply(
    mut tx: store::Tx,
    entries: &[Entry],
    letters: &Letters,
    as_of: NaiveDate,
    actor: &str,
    staging: &mut Staging,
    files: Vec<String>,
    out: &Path,
    renders: Renders,
) -> Result<RunSummary> {
    let run_id = store::dunning::insert_run(&mut tx, as_of, actor).await?;
    let cleared = store::dunning::clear_settled(&mut tx).await?;
    let mut summary = RunSummary { cleared: cleared.len(), letters: letters.students.len(), ..RunSummary::default() };
    for e in entries.iter().filter(|e| e.next_level > e.level) {
        store::dunning::set_level(&mut tx, e.installment_id, e.next_level.rank(), as_of, run_id).await?;
        summary.raised += 1;
        if e.next_level == Level::Blocked {
            summary.blocked += 1;
        }
    }
    store::dunning::set_run_counts(&mut tx, run_id, summary.letters, summary.raised, summary.blocked, summary.cleared)
        .await?;
    audit::record(
        &mut tx,
        actor,
        "dunning.run",
        "dunning_run",
        run_id,
        None,
        json!({"as_of": as_of, "letters": summary.letters, "raised": summary.raised, "blocked": summary.blocked,
               "cleared": cleared, "students": letters.students, "renders": renders.times,
               "typeset": renders.letters}),
    )
    .await?;
    staging.mark_recorded()?;
    let committed = tx.commit().await;
    if committed.is_err() {
        staging.unmark();
    }
    committed?;
    // An earlier run of the day in the same folder keeps its files: this one's are numbered.
    let suffix = free_suffix(out, &files);
    for (k, name) in files.iter().enumerate() {
        let path = out.join(numbered(name, suffix));
        if let Err(e) = std::fs::rename(staging.dir.join(name), &path) {
            // The run is recorded: its letters must not go with the folder (a file of the same
            // name open elsewhere, on Windows). They wait under the names they were to take, so
            // that moving them by hand writes over none of an earlier run's (a file that cannot
            // be renamed keeps its own name: `keep` removes what it is not given).
            let left: Vec<String> = files[k..]
                .iter()
                .map(|name| {
                    let to = numbered(name, suffix);
                    let renamed = to != *name && std::fs::rename(staging.dir.join(name), staging.dir.join(&to)).is_ok();
                    if renamed { to } else { name.clone() }
                })
                .collect();
            let kept = staging.keep(out, as_of, &left);
            let path =
                format!("{} (relance enregistrée ; ses fichiers restent dans {})", path.display(), kept.display());
            return Err(Error::Io { path, source: e });
        }
        summary.files.push(path.display().to_string());
    }
    // All in place: what is left of the folder can go with it.
    staging.unmark();
    Ok(summary)
}

/// A hidden folder of the run's `out` where its files wait for the run to commit (in `out`, so
/// that moving them is a rename), removed with what is left in it when the run ends, unless
/// `marked`: the run may have committed (it was stopped while committing or moving its files,
/// or some of them could not be moved).
///
/// A run killed midway (the program closed, the laptop turned off) cannot remove its folder, so
/// the next run in the same `out` does: the folder holds a lock file, locked for as long as its
/// run lasts, and a mark written (and synced) before the run commits. A folder whose lock is free
/// and that has no mark belongs to a run that recorded nothing; one with the mark may hold the
/// letters of a recorded run, and stays for good (harmless when the run was killed between the
/// mark and its commit).
struct Staging {
    dir: PathBuf,
    marked: bool,
    lock: Option<std::fs::File>,
}

/// The start of a staging folder's name; its lock file; the mark of a recorded run.
const STAGING: &str = ".relances-en-cours-";
const STAGING_LOCK: &str = ".verrou";
const STAGING_RECORDED: &str = ".relance-enregistree";

/// How old a free lock file must be before its folder is taken as left behind. Locks are not
/// seen across machines on every network drive: a run there is safe for this long.
const LEFT_BEHIND_AFTER: std::time::Duration = std::time::Duration::from_secs(3600);

impl Staging {
    /// A new folder in `out` (which exists), never one left by an earlier process of the same id.
    fn create(out: &Path) -> Result<Staging> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let mut vanished = false;
        let dir = loop {
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let dir = out.join(format!("{STAGING}{}-{n}", std::process::id()));
            match std::fs::create_dir(&dir) {
                Ok(()) => break dir,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                // `out`, empty, was just taken for a folder left behind (by another instance's
                // window): made again, once.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && !vanished => {
                    vanished = true;
                    std::fs::create_dir_all(out)
                        .map_err(|e| Error::Io { path: out.display().to_string(), source: e })?;
                }
                Err(e) => return Err(Error::Io { path: dir.display().to_string(), source: e }),
            }
        };
        let mut staging = Staging { dir, marked: false, lock: None };
        let path = staging.dir.join(STAGING_LOCK);
        let lock =
            std::fs::File::create(&path).map_err(|e| Error::Io { path: path.display().to_string(), source: e })?;
        // The drive's own clock, which dated the other folders' lock files.
        let now = lock.metadata().and_then(|m| m.modified()).ok();
        // A drive that cannot lock (some network shares): no lock file, so that no later run
        // takes this folder as left behind.
        match lock.try_lock() {
            Ok(()) => staging.lock = Some(lock),
            Err(_) => {
                drop(lock);
                let _ = std::fs::remove_file(&path);
            }
        }
        if let Some(now) = now {
            crate::blocking(|| remove_left_behind(out, now));
        }
        Ok(staging)
    }

    /// The files of `letters`: those of the last attempt when its letters were the same (what
    /// was recorded meanwhile changed none of them), else rendered anew over its files; with one
    /// PDF per student, only the letters that changed are (a payment during a large run changes
    /// one or two of them).
    fn files_of(
        &self,
        letters: &Letters,
        last: Option<(Letters, Vec<String>)>,
        renders: &mut Renders,
        typesetter: &Typesetter,
        as_of: NaiveDate,
        merged: bool,
    ) -> Result<Vec<String>> {
        let before = match last {
            Some((before, files)) if before == *letters => return Ok(files),
            Some((before, _)) => Some(before),
            None => None,
        };
        renders.times += 1;
        crate::blocking(|| {
            // The letters of students no longer reminded go (the others are written over): only
            // the files named in the result move into `out`, but a kept folder shows them all.
            let gone = before.iter().flat_map(|b| &b.students).filter(|n| !merged && letters.letter_of(n).is_none());
            for number in gone {
                let _ = std::fs::remove_file(self.dir.join(letter_file(number, as_of)));
            }
            letters.render(typesetter, as_of, &self.dir, merged, before.as_ref(), &mut renders.letters)
        })
    }

    /// Keeps the `remaining` files of the run, for good, in a folder of `out` the accountant sees
    /// (a dot hides a folder on macOS and Linux), or in this one if it cannot be renamed; returns
    /// where. Nothing else stays in it: an earlier attempt's letter would look like one to send.
    fn keep(&mut self, out: &Path, as_of: NaiveDate, remaining: &[String]) -> PathBuf {
        // Closed first: Windows renames no folder while a file in it is open. The mark (the run
        // has committed) keeps the folder from any sweep, and from `Drop`.
        drop(self.lock.take());
        let remaining: HashSet<&str> = remaining.iter().map(String::as_str).collect();
        for entry in std::fs::read_dir(&self.dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name != STAGING_RECORDED && !remaining.contains(name.as_str()) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        // Another run may take the same name at once: the next one, then.
        for n in 1..=100 {
            let visible = out.join(format!("relances-{}-non-deplacees-{n}", as_of.format("%Y%m%d")));
            if !visible.exists() && std::fs::rename(&self.dir, &visible).is_ok() {
                return visible;
            }
        }
        self.dir.clone()
    }

    /// Marks the folder as a recorded run's, before the run commits, on the disk (synced, the
    /// folder too): from then on no later run removes it, even if this one is killed, or the
    /// machine turned off, before its files are in place.
    fn mark_recorded(&mut self) -> Result<()> {
        let path = self.dir.join(STAGING_RECORDED);
        let io = |e| Error::Io { path: path.display().to_string(), source: e };
        std::fs::File::create(&path).and_then(|f| f.sync_all()).map_err(io)?;
        // A folder's entries are synced through the folder itself where it can be opened (Unix).
        if let Ok(dir) = std::fs::File::open(&self.dir) {
            let _ = dir.sync_all();
        }
        self.marked = true;
        Ok(())
    }

    /// The run did not commit, or all its files are in place: the folder can go.
    fn unmark(&mut self) {
        self.marked = false;
        let _ = std::fs::remove_file(self.dir.join(STAGING_RECORDED));
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.marked {
            remove_staging(&self.dir, self.lock.take());
        }
    }
}

/// Removes the staging folders of `out` that runs killed midway left behind: unmarked, their lock
/// free, their lock file an hour older than `now` (the drive's clock, as it dated them). Those of
/// runs still rendering (in this process or another) are locked; those of recorded runs, and of
/// runs on drives that cannot lock, are kept. What cannot be read or removed is left as it is:
/// this run does not depend on it.
fn remove_left_behind(out: &Path, now: std::time::SystemTime) {
    let Ok(entries) = std::fs::read_dir(out) else { return };
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().starts_with(STAGING) {
            continue;
        }
        let dir = entry.path();
        let Ok(file) = std::fs::OpenOptions::new().read(true).write(true).open(dir.join(STAGING_LOCK)) else {
            continue;
        };
        let old = file
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|at| now.duration_since(at).is_ok_and(|age| age >= LEFT_BEHIND_AFTER));
        // The mark is looked for once the lock is held: a run writes it under its lock.
        if old && file.try_lock().is_ok() && matches!(dir.join(STAGING_RECORDED).try_exists(), Ok(false)) {
            remove_staging(&dir, Some(file));
        }
    }
}

/// The time on the clock of the drive holding `dir` (a network share's may differ from this
/// machine's), read from a file made there for the purpose.
fn drive_now(dir: &Path) -> Option<std::time::SystemTime> {
    let probe = dir.join(format!(".relances-horloge-{}", std::process::id()));
    let now = std::fs::File::create(&probe).and_then(|f| f.metadata()).and_then(|m| m.modified()).ok();
    let _ = std::fs::remove_file(&probe);
    now
}

/// Removes a staging folder: its files first, its lock file last, so that a folder with a file
/// that cannot go (open elsewhere) keeps its lock file, and a later run tries again.
fn remove_staging(dir: &Path, lock: Option<std::fs::File>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        if entry.file_name() != STAGING_LOCK && std::fs::remove_file(entry.path()).is_err() {
            return;
        }
    }
    // Closed first: Windows removes no folder while a file in it is open.
    drop(lock);
    let _ = std::fs::remove_file(dir.join(STAGING_LOCK));
    let _ = std::fs::remove_dir(dir);
}

/// A run's letters and mail-merge lines, one per student with a raised installment, in the
/// students' order.
#[derive(PartialEq)]
struct Letters {
    students: Vec<String>,
    letters: Vec<serde_json::Value>,
    mail: Vec<Vec<String>>,
}

impl Letters {
    /// Each student with a raised installment gets one letter: everything overdue, at the highest
    /// level reached.
    fn of(entries: &[Entry], settings: &[SchoolSettings], as_of: NaiveDate) -> Result<Letters> {
        let raised: HashSet<&str> =
            entries.iter().filter(|e| e.next_level > e.level).map(|e| e.student_number.as_str()).collect();
        let mut by_student: BTreeMap<&str, Vec<&Entry>> = BTreeMap::new();
        for e in entries.iter().filter(|e| raised.contains(e.student_number.as_str())) {
            by_student.entry(&e.student_number).or_default().push(e);
        }
        // In the students' order, which `letter_of` searches.
        let mut out = Letters { students: Vec::new(), letters: Vec::new(), mail: Vec::new() };
        for (number, lines) in &by_student {
            let first = lines[0];
            let s = settings
                .iter()
                .find(|s| s.school == first.school)
                .ok_or_else(|| Error::Invalid(first.school.to_string()))?;
            let level = lines.iter().map(|e| e.next_level).max().unwrap_or(Level::First);
            let total: Money = lines.iter().map(|e| e.amount).sum();
            let since = lines.iter().map(|e| e.due_date).min().unwrap_or(as_of);
            // The reminder before this one, for what the run raises past a first reminder (a letter
            // of first reminders recalls none, even if it lists a line reminded lately).
            let previous = lines
                .iter()
                .filter(|e| e.next_level > e.level)
                .filter_map(|e| e.reminded_on)
                .max()
                .map(|d| d.format("%d/%m/%Y").to_string());
            let reference =
                format!("{} {}+{}+F.I", first.last_name.to_uppercase(), first.first_name, first.school.code());
            let card = !lines.iter().all(|e| e.transfer);
            out.students.push(number.to_string());
            out.letters.push(json!({
                "school": {
                    "issuer": crate::ledger::ISSUER, "name": s.name, "address": s.address, "iban": s.iban, "bic": s.bic,
                    "holder": "Clermont Auvergne INP", "domiciliation": s.domiciliation,
                },
                "date": as_of.format("%d/%m/%Y").to_string(),
                "client": format!("{} {}", first.last_name, first.first_name),
                "student_number": number,
                "title": level.title(),
                "blocked": level == Level::Blocked,
                "lines": lines.iter().map(|e| json!({
                    "invoice": e.invoice, "n": e.installment.to_string(), "due_date": e.due_date.format("%d/%m/%Y").to_string(),
                    "amount": e.amount.to_french(), "reason": e.reason,
                })).collect::<Vec<_>>(),
                "total": total.to_french(),
                "since": since.format("%d/%m/%Y").to_string(),
                "previous": previous,
                "reference": reference,
                "card": card,
            }));
            out.mail.push(vec![
                number.to_string(),
                first.email.clone(),
                first.last_name.clone(),
                first.first_name.clone(),
                s.name.clone(),
                level.title().to_string(),
                total.to_french(),
                since.format("%d/%m/%Y").to_string(),
                lines
                    .iter()
                    .map(|e| {
                        format!(
                            "{} éch. {} du {} : {} ({})",
                            e.invoice,
                            e.installment,
                            e.due_date.format("%d/%m/%Y"),
                            e.amount.to_french(),
                            e.reason
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(" ; "),
                // As the letter: no card for amounts owed by transfer only.
                if card { "par carte sur le portail, rubrique Mes paiements".to_string() } else { String::new() },
                s.iban.clone(),
                reference,
                previous.unwrap_or_default(),
            ]);
        }
        debug_assert!(out.students.is_sorted());
        Ok(out)
    }

    /// The letter of the student `number`, if any.
    fn letter_of(&self, number: &str) -> Option<&serde_json::Value> {
        // In the students' order (`of` builds them from an ordered map).
        self.students.binary_search_by(|s| s.as_str().cmp(number)).ok().map(|i| &self.letters[i])
    }

    /// Writes the letters (one PDF each, or all in one) and the mail-merge file (CSV and XLSX)
    /// into `dir`; returns the files' names, in that order. No letter, no file: a run with nothing
    /// to send leaves the mail-merge file of an earlier run of the day as it was. One PDF each:
    /// the letters the same as in `before` are already in `dir`, and are not laid out again.
    /// `typeset` counts the letters laid out.
    fn render(
        &self,
        typesetter: &Typesetter,
        as_of: NaiveDate,
        dir: &Path,
        merged: bool,
        before: Option<&Letters>,
        typeset: &mut usize,
    ) -> Result<Vec<String>> {
        let stamp = as_of.format("%Y%m%d");
        let mut files = Vec::new();
        if self.letters.is_empty() {
            return Ok(files);
        }
        if merged {
            let ident = format!("relances-{stamp}");
            let pdf = typesetter.render(
                crate::invoices::Template::Reminders,
                &serde_json::Value::Array(self.letters.clone()),
                as_of,
                &ident,
            );
            Typesetter::evict();
            write(&dir.join(format!("{ident}.pdf")), &pdf?)?;
            files.push(format!("{ident}.pdf"));
            *typeset += self.letters.len();
        } else {
            let each: Vec<(&serde_json::Value, &str)> = self
                .letters
                .iter()
                .zip(self.students.iter().map(String::as_str))
                .filter(|(letter, number)| before.and_then(|b| b.letter_of(number)) != Some(*letter))
                .collect();
            render_each(typesetter, &each, as_of, dir)?;
            *typeset += each.len();
            files.extend(self.students.iter().map(|number| letter_file(number, as_of)));
        }
        for ext in ["csv", "xlsx"] {
            let name = format!("relances-{stamp}.{ext}");
            crate::sheets::write_table(&dir.join(&name), "Relances", &MAIL_HEADERS, &self.mail)?;
            files.push(name);
        }
        Ok(files)
    }
}

/// Runs the reminders into a new folder of the exports folder (`Documents/Régie/relances-…`), so
/// the window never names a path itself.
pub async fn run_to_exports(
    store: &Store,
    typesetter: &Typesetter,
    as_of: NaiveDate,
    merged: bool,
    actor: &str,
) -> Result<RunSummary> {
    run_in_folder_of(store, typesetter, as_of, &crate::exports_dir()?, merged, actor).await
}

/// Runs the reminders into a new folder `relances-<now>` of `exports`. Each of the window's runs
/// has its folder, so the folders that killed runs left behind are in the earlier runs' folders:
/// once this run is done (a run refused does not touch the files), they are removed there, and an
/// earlier run's folder that only held them goes too.
pub async fn run_in_folder_of(
    store: &Store,
    typesetter: &Typesetter,
    as_of: NaiveDate,
    exports: &Path,
    merged: bool,
    actor: &str,
) -> Result<RunSummary> {
    let out = exports.join(format!("relances-{}", chrono::Local::now().format("%Y%m%d-%H%M%S")));
    let done = run(store, typesetter, as_of, &out, merged, actor).await;
    // A run that failed, or had nothing to send, leaves no empty folder behind (one that is not
    // empty stays).
    if done.as_ref().map_or(true, |d| d.files.is_empty()) {
        let _ = std::fs::remove_dir(&out);
    }
    if done.is_ok() {
        crate::blocking(|| {
            let Some(now) = drive_now(exports) else { return };
            let Ok(entries) = std::fs::read_dir(exports) else { return };
            for earlier in entries.flatten().filter(|e| e.file_name().to_string_lossy().starts_with("relances-")) {
                remove_left_behind(&earlier.path(), now);
                // `remove_dir` takes only an empty folder: an earlier run's letters stay.
                let _ = std::fs::remove_dir(earlier.path());
            }
        });
    }
    done
}

/// One PDF per letter in `out` (`letter_file`), the letters shared out between the cores: they
/// are independent, and Typst's world is built once and shared. A run for 2,000 students spends
/// most of its time here. The error is that of the first letter, in the letters' order, that
/// failed.
fn render_each(
    typesetter: &Typesetter,
    letters: &[(&serde_json::Value, &str)],
    as_of: NaiveDate,
    out: &Path,
) -> Result<()> {
    let one = |(letter, number): &(&serde_json::Value, &str)| -> Result<()> {
        let name = letter_file(number, as_of);
        let ident = name.trim_end_matches(".pdf");
        let data = serde_json::Value::Array(vec![(*letter).clone()]);
        let pdf = typesetter.render(crate::invoices::Template::Reminders, &data, as_of, ident)?;
        write(&out.join(&name), &pdf)
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_core = letters.len().div_ceil(cores).max(1);
    let done: Vec<Result<()>> = std::thread::scope(|scope| {
        let workers: Vec<_> = letters
            .chunks(per_core)
            .map(|share| {
                // Typst's CLI compiles on a main thread's stack; a spawned one's default is 2 MiB.
                std::thread::Builder::new()
                    .stack_size(8 << 20)
                    .spawn_scoped(scope, move || share.iter().try_for_each(one))
            })
            .collect();
        workers
            .into_iter()
            .map(|w| match w {
                Ok(worker) => worker
                    .join()
                    .unwrap_or_else(|_| Err(Error::Render("la mise en page d'une lettre s'est interrompue".into()))),
                Err(e) => Err(Error::Render(format!("mise en page des lettres impossible à lancer ({e})"))),
            })
            .collect()
    });
    // Typst's memoized results of the whole batch, failed or not.
    Typesetter::evict();
    done.into_iter().collect()
}

/// The first number (1: none) that, given to every one of a run's files, names no file already
/// in `out`: a second run of the day with letters of its own writes beside the first one's
/// letters and mail-merge file (already sent, perhaps) instead of over them. Two runs moving their
/// files into the same folder at the same instant may still take the same number. (A folder of
/// the name is no earlier letter: the move fails on it, and the files wait where `keep` puts
/// them.)
fn free_suffix(out: &Path, files: &[String]) -> usize {
    (1..).find(|&n| files.iter().all(|f| !out.join(numbered(f, n)).is_file())).expect("a free number")
}

/// `relances-20251010.csv` as the `n`th of its day: `relances-20251010-2.csv` (the first keeps
/// its name).
fn numbered(name: &str, n: usize) -> String {
    match (n, name.rsplit_once('.')) {
        (1, _) => name.to_string(),
        (_, Some((stem, ext))) => format!("{stem}-{n}.{ext}"),
        (_, None) => format!("{name}-{n}"),
    }
}

/// The file of a student's letter of `as_of`, when each has one.
fn letter_file(number: &str, as_of: NaiveDate) -> String {
    format!("relance-{number}-{}.pdf", as_of.format("%Y%m%d"))
}

fn write(path: &PathBuf, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| Error::Io { path: path.display().to_string(), source: e })
}
