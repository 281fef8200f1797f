//! Payers as they come: a French name spread (frequent surnames far more frequent, a long tail,
//! compound names, namesakes) and statement lines that each pay a known student, written the ways
//! banks and payers write them (composite references, swapped names, parents, fees deducted,
//! truncated labels, student numbers, typos), so that matching is measured against the truth.

use super::{Rng, Student};
use regie::fees::School;

/// Surnames by frequency (INSEE's most frequent first), compound and foreign ones among them.
#[rustfmt::skip]
const SURNAMES: &[&str] = &[
    "Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois", "Moreau", "Laurent",
    "Simon", "Michel", "Lefèvre", "Leroy", "Roux", "David", "Bertrand", "Morel", "Fournier", "Girard",
    "Bonnet", "Dupont", "Lambert", "Fontaine", "Rousseau", "Vincent", "Muller", "Lefebvre", "Faure", "André",
    "Mercier", "Blanc", "Guérin", "Boyer", "Garnier", "Chevalier", "François", "Legrand", "Gauthier",
    "Garcia", "Perrin", "Robin", "Clément", "Morin", "Nicolas", "Henry", "Roussel", "Mathieu", "Gautier",
    "Masson", "Marchand", "Duval", "Denis", "Dumont", "Marie", "Lemaire", "Noël", "Meyer", "Dufour",
    "Meunier", "Brun", "Blanchard", "Giraud", "Joly", "Rivière", "Lucas", "Brunet", "Gaillard", "Barbier",
    "Arnaud", "Martinez", "Gérard", "Roche", "Renard", "Schmitt", "Roy", "Leroux", "Colin", "Vidal", "Caron",
    "Picard", "Roger", "Fabre", "Aubert", "Lemoine", "Renaud", "Dumas", "Lacroix", "Olivier", "Philippe",
    "Bourgeois", "Pierre", "Benoît", "Rey", "Leclerc", "Payet", "Rolland", "Leclercq", "Guillaume", "Lecomte",
    "Da Silva", "Dos Santos", "Nguyen", "Le Gall", "Le Roux", "De Oliveira", "O'Brien", "Martin-Dubois",
];

/// First names beside the demo's: the most given ones first.
#[rustfmt::skip]
const MORE_FIRST_NAMES: &[&str] = &[
    "Thomas", "Julie", "Antoine", "Marie", "Paul", "Laura", "Maxime", "Pauline", "Alexandre", "Juliette",
    "Quentin", "Alice", "Romain", "Charlotte", "Nicolas", "Margaux", "Clément", "Lucie", "Valentin", "Elise",
    "Benjamin", "Justine", "Florian", "Marine", "Kévin", "Mélanie", "Adrien", "Claire", "Dylan", "Amandine",
    "Jean-Baptiste", "Marie-Lou", "Pierre", "Anne", "Victor", "Louise", "Axel", "Ambre", "Enzo", "Rose",
];

/// Every surname drawn, the most frequent first, then the foreign ones the demo gives.
fn surnames() -> Vec<&'static str> {
    SURNAMES.iter().chain(regie::demo::LAST_INTL).copied().collect()
}

/// Every first name drawn, the most given first.
fn first_names() -> Vec<&'static str> {
    use regie::demo::{FIRST, FIRST_INTL};
    FIRST.iter().chain(MORE_FIRST_NAMES).chain(FIRST_INTL).copied().collect()
}

/// Syllables of the long tail of surnames (most French surnames are rare).
#[rustfmt::skip]
const TAIL: &[&str] = &[
    "CHA", "BROL", "VI", "DAL", "ENC", "MAR", "CEL", "BOU", "RAN", "TEIX", "EIRA", "GUIL", "LOT", "PEY",
    "RET", "FER", "RAND", "COU", "TU", "RIER", "DES", "CHAMPS", "LA", "BORDE", "SAU", "VAGE", "MON", "TEIL",
    "POU", "JOL", "GRAS", "SET", "BAR", "THÉ", "LÉ", "MY", "ROU", "QUIER", "VER", "GNE", "BRI", "ANT",
];

/// How names are spread among the students.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Spread {
    /// About one surname in twelve among the most frequent ones (Martin first, about 0.7 % of
    /// the students), the rest from a long tail; the most given first name about 4 %: a few
    /// namesakes, many shared surnames, as in a school's roll.
    Realistic,
    /// Every full name shared by about thirty students.
    Namesakes,
}

/// A draw from `0..n` where rank k weighs 1/(k + offset): the larger the offset, the flatter.
fn ranked(rng: &mut Rng, n: usize, offset: usize) -> usize {
    let total: f64 = (0..n).map(|k| 1.0 / (k + offset) as f64).sum();
    let mut u = (rng.next() % 1_000_000) as f64 / 1_000_000.0 * total;
    for k in 0..n {
        u -= 1.0 / (k + offset) as f64;
        if u < 0.0 {
            return k;
        }
    }
    n - 1
}

fn tail_name(rng: &mut Rng) -> String {
    let k = 2 + rng.below(2);
    let s: String = (0..k).map(|_| TAIL[rng.below(TAIL.len())]).collect();
    let mut c = s.chars();
    c.next().map(|f| f.to_string() + &c.as_str().to_lowercase()).unwrap_or_default()
}

/// `n` students named by `spread`: `S{i:06}`, schools alternating, every fifth in six installments
/// (as `setup_students` approves them).
pub fn students(n: usize, spread: Spread, seed: u64) -> Vec<Student> {
    let mut rng = Rng(seed);
    let (first_names, surnames) = (first_names(), surnames());
    let distinct: Vec<(String, String)> = match spread {
        Spread::Realistic => Vec::new(),
        Spread::Namesakes => (0..n.div_ceil(30))
            .map(|_| {
                (surnames[rng.below(surnames.len())].to_string(), first_names[rng.below(first_names.len())].to_string())
            })
            .collect(),
    };
    (0..n)
        .map(|i| {
            let (last, first) = match spread {
                Spread::Realistic => (
                    if rng.below(12) == 0 {
                        surnames[ranked(&mut rng, surnames.len(), 3)].to_string()
                    } else {
                        tail_name(&mut rng)
                    },
                    first_names[ranked(&mut rng, first_names.len(), 10)].to_string(),
                ),
                Spread::Namesakes => distinct[i % distinct.len()].clone(),
            };
            Student {
                number: format!("S{i:06}"),
                last,
                first,
                school: if i % 2 == 0 { School::Isima } else { School::Polytech },
                six: i % 5 == 0,
            }
        })
        .collect()
}

/// How a line was written.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// Name, reference and school in the label: "/DE DURAND LEA /MOTIF DURAND+ISIMA+F.I".
    Composite,
    /// First name first, no accents: "/DE LEA DURAND".
    Swapped,
    /// A parent pays: their own first name, the student's in the reason.
    Parent,
    /// From abroad, short of the intermediary banks' fees.
    International,
    /// The bank cut the payer's name.
    Truncated,
    /// Someone else pays, with the student number in the reason.
    Number,
    /// The surname mistyped by one letter (changed, dropped, added or two swapped).
    Typo,
    /// Nobody the office knows: no line of this kind may be matched.
    Unknown,
}

pub const KINDS: [Kind; 8] = [
    Kind::Composite,
    Kind::Swapped,
    Kind::Parent,
    Kind::International,
    Kind::Truncated,
    Kind::Number,
    Kind::Typo,
    Kind::Unknown,
];

/// A line with the truth about it.
pub struct Truth {
    pub label: String,
    /// In cents.
    pub cents: i64,
    pub kind: Kind,
    /// The student who pays (index into the students), `None` for `Unknown`.
    pub payer: Option<usize>,
    /// Whether what the label says names one student only, so that a careful person would match it
    /// without asking: no namesake, no other student under the parent's name.
    pub clear: bool,
}

/// Upper case without accents, as most banks write labels.
pub fn plain(s: &str) -> String {
    regie::bank::table::canonical_label(s)
}

fn key(last: &str, first: &str) -> String {
    format!("{}|{}", plain(last), plain(first))
}

/// One letter of a word changed, dropped, added, or two neighbours swapped.
pub fn typo(rng: &mut Rng, word: &str) -> String {
    let mut w: Vec<char> = word.chars().collect();
    let letters: Vec<char> = "ABCDEFGHIJKLMNOPRSTUVZ".chars().collect();
    let i = 1 + rng.below(w.len().saturating_sub(2).max(1));
    match rng.below(4) {
        0 => {
            let c = letters[rng.below(letters.len())];
            w[i] = if w[i] == c { 'X' } else { c };
        }
        1 => {
            w.remove(i);
        }
        2 => w.insert(i, letters[rng.below(letters.len())]),
        _ => {
            let j = (i + 1).min(w.len() - 1);
            w.swap(i.min(j - 1), j);
        }
    }
    w.into_iter().collect()
}

/// `lines` credit lines, each paying the first installment of a different student (or nobody's
/// money, for `Unknown`), in the proportions a year of the office's statements shows.
pub fn lines(students: &[Student], lines: usize, seed: u64) -> Vec<Truth> {
    let mut rng = Rng(seed);
    let first_names = first_names();
    let mut names: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for s in students {
        *names.entry(key(&s.last, &s.first)).or_default() += 1;
    }
    let mut order: Vec<usize> = (0..students.len()).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i + 1));
    }
    let mut out = Vec::with_capacity(lines);
    for (k, &who) in order.iter().cycle().take(lines).enumerate() {
        let s = &students[who];
        let (last, first) = (plain(&s.last), plain(&s.first));
        let school = if s.school == School::Isima { "ISIMA" } else { "POLYTECH" };
        // The first installment: 618 € in six (the deposit), 206 € in three.
        let cents: i64 = if s.six { 61_800 } else { 20_600 };
        let unique = names[&key(&s.last, &s.first)] == 1;
        let kind = match rng.below(100) {
            0..=29 => Kind::Composite,
            30..=42 => Kind::Swapped,
            43..=53 => Kind::Parent,
            54..=60 => Kind::International,
            61..=71 => Kind::Truncated,
            72..=79 => Kind::Number,
            80..=91 => Kind::Typo,
            _ => Kind::Unknown,
        };
        let reference = 100_000 + rng.below(900_000);
        let (label, cents, clear) = match kind {
            Kind::Composite => (
                match rng.below(3) {
                    0 => format!("VIR SEPA RECU /DE {last} {first} /MOTIF {last}+{school}+F.I /REF NPY{reference}"),
                    1 => format!("VIR SEPA RECU /DE {first} {last} /MOTIF FRAIS {school} {first} {last} 2025-2026"),
                    _ => format!("VIR INST RE {reference} DE: {last} {first} MOTIF: SCOLARITE {school} F.I"),
                },
                cents,
                unique,
            ),
            Kind::Swapped => (format!("VIR SEPA RECU /DE {first} {last}"), cents, unique),
            Kind::Parent => {
                let parent = plain(first_names[rng.below(first_names.len())]);
                let other = names.get(&key(&s.last, &parent)).copied().unwrap_or(0) > 0;
                (
                    format!("VIR SEPA RECU /DE M OU MME {last} {parent} /MOTIF SCOLARITE {first} {school}"),
                    cents,
                    unique && !other && parent != first,
                )
            }
            Kind::International => {
                let fees = [800, 1250, 1500, 2000, 2500][rng.below(5)];
                (
                    format!("VIR INTERNATIONAL RECU /DE {first} {last} /MOTIF TUITION FEES {school}"),
                    cents - fees,
                    unique,
                )
            }
            Kind::Truncated => {
                // The bank keeps so many characters of the payer; at least four of the first name.
                let full = format!("{last} {first}");
                let keep = (last.len() + 1 + first.len().min(4)).max(full.len().saturating_sub(rng.below(4)));
                (format!("VIR SEPA RECU /DE {}", &full[..keep.min(full.len())]), cents, unique)
            }
            Kind::Number => {
                let parent = plain(SURNAMES[rng.below(SURNAMES.len())]);
                (format!("VIR SEPA RECU /DE {parent} CATHERINE /MOTIF ETUDIANT {}", s.number), cents, true)
            }
            Kind::Typo => {
                let with_school = rng.below(2) == 0;
                // The longest word of the surname is the one mistyped.
                let words: Vec<&str> = last.split(' ').collect();
                let longest = (0..words.len()).max_by_key(|&i| (words[i].len(), std::cmp::Reverse(i))).unwrap_or(0);
                let typed: Vec<String> = words
                    .iter()
                    .enumerate()
                    .map(|(i, w)| if i == longest { typo(&mut rng, w) } else { w.to_string() })
                    .collect();
                let label = format!(
                    "VIR SEPA RECU /DE {} {first} /MOTIF {}",
                    typed.join(" "),
                    if with_school { school } else { "INSCRIPTION" }
                );
                (label, cents, false)
            }
            Kind::Unknown => (format!("VIR SEPA RECU /DE SCI LES TILLEULS {} /MOTIF LOYER", k % 97), 5_000, false),
        };
        out.push(Truth { label, cents, kind, payer: (kind != Kind::Unknown).then_some(who), clear });
    }
    out
}
