//! Matching: for each credit line, the students it may pay, each with a score and its reasons
//! ("nom 2/2, ISIMA, montant = 2e échéance, 3 jours après l'échéance"). Candidates come from an
//! index (name-token pairs, numbers, invoices, learned payer aliases, amounts, names one typo
//! away), never a scan.

use std::collections::HashMap;

/// The index's maps, looked up a few dozen times per statement line: foldhash (randomly seeded)
/// rather than SipHash. Their keys are the office's own names and numbers; a label only looks up.
type Fast<K, V> = foldhash::HashMap<K, V>;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::table::canonical_label;
use crate::fees::School;
use crate::money::Money;

/// An open installment of a student, in due order.
#[derive(Debug, Clone)]
pub struct OpenItem {
    pub installment_id: i64,
    pub n: i64,
    pub due_date: NaiveDate,
    pub left: Money,
    pub invoice_number: String,
}

impl crate::ledger::allocation::Owed for OpenItem {
    fn id(&self) -> i64 {
        self.installment_id
    }
    fn left(&self) -> Money {
        self.left
    }
    fn settle(&mut self, part: Money) {
        self.left -= part;
    }
}

/// A student who may be paying: names, school, open installments and learned payer aliases.
#[derive(Debug, Clone)]
pub struct Payee {
    pub student_id: i64,
    pub number: String,
    pub last_name: String,
    pub first_name: String,
    pub school: School,
    pub open: Vec<OpenItem>,
    pub aliases: Vec<String>,
}

/// An open installment as the ledger holds it, before it is grouped by student.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenInstallment {
    pub student_id: i64,
    pub invoice_id: i64,
    pub installment_id: i64,
    pub n: i64,
    pub due_date: NaiveDate,
    pub left: Money,
}

/// Who a student is, for the matcher: number, names, school, and the names payers used before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayeeName {
    pub number: String,
    pub last_name: String,
    pub first_name: String,
    pub school: School,
    pub aliases: Vec<String>,
}

/// The students who may be paying, each with their open installments in the order a payment
/// settles them: by due date, then invoice, then rank. An installment whose student or invoice
/// is not given is left out (the ledger's keys make it impossible).
pub fn payees(
    mut open: Vec<OpenInstallment>,
    mut students: HashMap<i64, PayeeName>,
    invoice_numbers: &HashMap<i64, String>,
) -> Vec<Payee> {
    open.sort_by_key(|o| (o.student_id, o.due_date, o.invoice_id, o.n));
    let mut out: Vec<Payee> = Vec::new();
    for o in open {
        let Some(invoice_number) = invoice_numbers.get(&o.invoice_id) else { continue };
        if out.last().is_none_or(|p| p.student_id != o.student_id) {
            let Some(who) = students.remove(&o.student_id) else { continue };
            out.push(Payee {
                student_id: o.student_id,
                number: who.number,
                last_name: who.last_name,
                first_name: who.first_name,
                school: who.school,
                open: Vec::new(),
                aliases: who.aliases,
            });
        }
        let p = out.last_mut().expect("the student's payee was just pushed or is the last");
        p.open.push(OpenItem {
            installment_id: o.installment_id,
            n: o.n,
            due_date: o.due_date,
            left: o.left,
            invoice_number: invoice_number.clone(),
        });
    }
    out
}

/// A ranked candidate for a line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[ts(export)]
pub struct Suggestion {
    pub student_number: String,
    /// "DURAND Léa": the accountant recognises a name, not a number. Lines imported before it
    /// was kept have none.
    #[serde(default)]
    pub name: String,
    pub score: i64,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[derive(ts_rs::TS)]
#[ts(export)]
pub enum LineStatus {
    Matched,
    ToReview,
    Unmatched,
    Debit,
}

impl LineStatus {
    pub fn code(self) -> &'static str {
        match self {
            LineStatus::Matched => "matched",
            LineStatus::ToReview => "to_review",
            LineStatus::Unmatched => "unmatched",
            LineStatus::Debit => "debit",
        }
    }

    pub fn parse(text: &str) -> crate::Result<LineStatus> {
        [LineStatus::Matched, LineStatus::ToReview, LineStatus::Unmatched, LineStatus::Debit]
            .into_iter()
            .find(|s| s.code() == text.trim())
            .ok_or_else(|| {
                crate::Error::Invalid(format!(
                    "statut de ligne inconnu « {text} » (matched, to_review, unmatched, debit)"
                ))
            })
    }
}

crate::coded!(LineStatus: Matched, ToReview, Unmatched, Debit);

impl std::fmt::Display for LineStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.code())
    }
}

/// The rules of automatic matching (settings).
#[derive(Debug, Clone, Copy)]
pub struct MatchRules {
    /// A transfer short of an installment by at most this is still that installment (bank fees).
    pub fee_tolerance: Money,
    /// The best candidate is matched automatically only from this score...
    pub auto_score: i64,
    /// ...and this far ahead of the second. Ties are never guessed.
    pub auto_lead: i64,
    /// Below this, a line has no suggestion worth reviewing.
    pub review_score: i64,
}

impl Default for MatchRules {
    fn default() -> Self {
        MatchRules { fee_tolerance: Money::from_cents(3000), auto_score: 75, auto_lead: 20, review_score: 30 }
    }
}

/// Words of bank labels that name no one.
const STOP: &[&str] = &[
    "VIR",
    "VIREMENT",
    "SEPA",
    "RECU",
    "RECEIVED",
    "EMIS",
    "DE",
    "DU",
    "DES",
    "LA",
    "LE",
    "LES",
    "MOTIF",
    "REF",
    "REFERENCE",
    "INST",
    "INSTANTANE",
    "INTERNATIONAL",
    "INTL",
    "ORDRE",
    "PAR",
    "POUR",
    "EMETTEUR",
    "BENEF",
    "BENEFICIAIRE",
    "ET",
    "M",
    "MME",
    "MR",
    "MLLE",
    "FRAIS",
    "INSCRIPTION",
    "SCOLARITE",
    "DROITS",
    "ECHEANCE",
    "NPY",
    "REMISE",
    "TRANSFER",
    "FROM",
    "ISIMA",
    "POLYTECH",
    "CLERMONT",
    "INP",
    "FI",
    "FORMATION",
    "INITIALE",
    "ID",
    "EUR",
];

/// Upper-case ASCII words of a text, accents dropped.
pub fn words(text: &str) -> Vec<String> {
    canonical_words(&canonical_label(text))
}

/// The words of a text already canonical (see `canonical_label`).
fn canonical_words(canon: &str) -> Vec<String> {
    canon.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_string).collect()
}

/// A name's words, each with the joined form of multi-word names ("DA SILVA" -> DASILVA too).
fn name_words(name: &str) -> Vec<String> {
    let ws: Vec<String> = words(name).into_iter().filter(|w| w.len() >= 2).collect();
    ws
}

/// What the label says, once parsed.
#[derive(Debug, Clone, Default)]
pub struct Label {
    pub tokens: Vec<String>,
    /// The words the bank may have cut short: the label's last, and the payer field's last (banks
    /// cut a field or the label at a width, never a word in the middle).
    pub cut: Vec<String>,
    /// The payer's name: the words after `/DE` up to the next `/` field.
    pub payer: Option<String>,
    /// The payer's name as aliases are stored.
    pub payer_key: Option<String>,
    /// Invoice numbers written in the label.
    pub invoices: Vec<String>,
    pub school: Option<School>,
    pub fee_marker: bool,
}

pub fn parse_label(label: &str) -> Label {
    parse_canonical(&canonical_label(label))
}

/// `parse_label`, given the label's `canonical_label` (an import computes it once for its
/// fingerprints too).
pub fn parse_canonical(canon: &str) -> Label {
    let all = canonical_words(canon);
    let school = if all.iter().any(|w| w == "ISIMA") {
        Some(School::Isima)
    } else if all.iter().any(|w| w == "POLYTECH") {
        Some(School::Polytech)
    } else {
        None
    };
    let fee_marker = canon.contains("F.I") || all.iter().any(|w| w == "FI") || canon.contains("FORMATION INITIALE");
    let payer = canon
        .split("/DE ")
        .nth(1)
        .map(|rest| rest.split('/').next().unwrap_or("").trim().to_string())
        .filter(|p| !p.is_empty());
    // A label is a bank's field of a few dozen words: beyond, words are junk that would only cost.
    let tokens: Vec<String> = all.into_iter().filter(|w| !STOP.contains(&w.as_str())).take(MAX_WORDS).collect();
    // The payer field is canonical already: its words are `words(payer)`.
    let payer_words: Vec<String> = payer.as_deref().map(canonical_words).unwrap_or_default();
    let payer_key = payer.as_ref().map(|_| key_of(payer_words.iter().cloned()));
    let invoices = invoice_numbers(&tokens);
    let payer_last = payer_words.into_iter().rev().find(|w| !STOP.contains(&w.as_str()));
    let cut = tokens.last().cloned().into_iter().chain(payer_last).filter(|w| w.len() >= 4).collect();
    Label { tokens, cut, payer, payer_key, school, fee_marker, invoices }
}

/// An alias as stored: the payer's words, sorted, so word order does not matter.
pub fn alias_key(payer: &str) -> String {
    key_of(words(payer).into_iter())
}

/// `alias_key` of a payer's words.
fn key_of(words: impl Iterator<Item = String>) -> String {
    let mut ws: Vec<String> = words.filter(|w| !STOP.contains(&w.as_str())).collect();
    ws.sort();
    ws.join(" ")
}

/// The index over every payee, built once per matching run.
pub struct Index {
    pub payees: Vec<Payee>,
    /// Each payee's normalized (last, first) name words, computed once.
    names: Vec<(Vec<String>, Vec<String>)>,
    token_ids: Fast<String, u32>,
    /// Each token's text, by id.
    token_texts: Vec<String>,
    /// Every name token of `NEAR_MIN` letters or more, and each of its one-letter deletions ->
    /// those tokens: two words one typo apart (a letter changed, added, dropped, or two letters
    /// swapped) share an entry, so a typo is found by lookups, not by comparing every name.
    near: Fast<String, Vec<u32>>,
    /// Sorted name tokens, for labels the bank cut short (DURAN -> DURAND).
    sorted_tokens: Vec<(String, u32)>,
    /// (last-name token, first-name token) -> payees.
    pairs: Fast<(u32, u32), Vec<u32>>,
    /// last-name token -> payees (used when no pair is found).
    lasts: Fast<u32, Vec<u32>>,
    numbers: Fast<String, u32>,
    invoices: Fast<String, u32>,
    aliases: Fast<String, Vec<u32>>,
    /// Left to pay of a payee's first open installment -> payees.
    amounts: Fast<i64, Vec<u32>>,
}

impl Index {
    pub fn build(payees: Vec<Payee>) -> Index {
        let mut idx = Index {
            payees: Vec::new(),
            names: Vec::with_capacity(payees.len()),
            token_ids: Fast::default(),
            token_texts: Vec::new(),
            near: Fast::default(),
            sorted_tokens: Vec::new(),
            pairs: Fast::default(),
            lasts: Fast::default(),
            numbers: Fast::default(),
            invoices: Fast::default(),
            aliases: Fast::default(),
            amounts: Fast::default(),
        };
        for (i, p) in payees.iter().enumerate() {
            let i = i as u32;
            let (last_words, first_words) = (name_words(&p.last_name), name_words(&p.first_name));
            let lasts: Vec<u32> = last_words.iter().map(|w| idx.token(w)).collect();
            let firsts: Vec<u32> = first_words.iter().map(|w| idx.token(w)).collect();
            idx.names.push((last_words, first_words));
            for &l in &lasts {
                idx.lasts.entry(l).or_default().push(i);
                for &f in &firsts {
                    idx.pairs.entry((l, f)).or_default().push(i);
                }
            }
            idx.numbers.insert(p.number.to_uppercase(), i);
            for o in &p.open {
                idx.invoices.insert(o.invoice_number.to_uppercase(), i);
            }
            for a in &p.aliases {
                idx.aliases.entry(a.clone()).or_default().push(i);
            }
            if let Some(first) = p.open.first() {
                idx.amounts.entry(first.left.cents()).or_default().push(i);
            }
        }
        let mut sorted: Vec<(String, u32)> = idx.token_ids.iter().map(|(t, id)| (t.clone(), *id)).collect();
        sorted.sort();
        for (t, id) in &sorted {
            if t.len() >= NEAR_MIN {
                for key in std::iter::once(t.clone()).chain(deletions(t)) {
                    let ids = idx.near.entry(key).or_default();
                    if !ids.contains(id) {
                        ids.push(*id);
                    }
                }
            }
        }
        idx.sorted_tokens = sorted;
        idx.payees = payees;
        idx
    }

    fn token(&mut self, w: &str) -> u32 {
        if let Some(id) = self.token_ids.get(w) {
            return *id;
        }
        let id = self.token_texts.len() as u32;
        self.token_ids.insert(w.to_string(), id);
        self.token_texts.push(w.to_string());
        id
    }

    /// The name tokens a label word may be a typo of: one edit away (swaps included), when the
    /// word is no name itself (a word that is someone's name is taken as that name). At most
    /// `NEAR_MAX`, so a word near many names costs a bounded amount.
    fn near(&self, w: &str) -> Vec<u32> {
        if w.len() + 1 < NEAR_MIN || self.token_ids.contains_key(w) || w.bytes().any(|b| b.is_ascii_digit()) {
            return Vec::new();
        }
        let mut out: Vec<u32> = Vec::new();
        // The word, then each of its deletions, written into one buffer (no string per key).
        let mut key = String::with_capacity(w.len());
        for skip in std::iter::once(None).chain((0..w.len()).map(Some)) {
            key.clear();
            match skip {
                None => key.push_str(w),
                Some(i) => {
                    key.push_str(&w[..i]);
                    key.push_str(&w[i + 1..]);
                }
            }
            for &id in self.near.get(key.as_str()).into_iter().flatten() {
                if !out.contains(&id) && typo_apart(w, &self.token_texts[id as usize]) {
                    out.push(id);
                }
            }
            if out.len() >= NEAR_MAX {
                out.truncate(NEAR_MAX);
                break;
            }
        }
        out
    }

    /// The label's words that are no one's name word as written: where typos are looked for.
    /// Found once per line, not once per candidate and name word (when thirty students share a
    /// name, that lookup was most of the matching).
    fn unknown_words<'l>(&self, label: &'l Label) -> Vec<&'l str> {
        label.tokens.iter().map(String::as_str).filter(|t| !self.token_ids.contains_key(*t)).collect()
    }

    /// The name tokens a label word stands for: itself, or, when the bank may have cut it, the
    /// names it is the start of.
    fn expand(&self, w: &str, label: &Label) -> Vec<u32> {
        if let Some(id) = self.token_ids.get(w) {
            return vec![*id];
        }
        if !label.cut.iter().any(|c| c == w) {
            return Vec::new();
        }
        let start = self.sorted_tokens.partition_point(|(t, _)| t.as_str() < w);
        self.sorted_tokens[start..].iter().take_while(|(t, _)| t.starts_with(w)).take(8).map(|(_, id)| *id).collect()
    }

    /// The payees a label may be about. The work is bounded whatever the label: name pairs are
    /// looked up `PAIR_BUDGET` times at most, and when many students share the name, those who
    /// owe the amount (then those of the label's school) are kept before any is scored.
    fn candidates(&self, label: &Label, amount: Money, rules: &MatchRules) -> Vec<u32> {
        // A few dozen at most: a vector sorted and deduplicated once costs less than a hash set.
        let mut out: Vec<u32> = Vec::new();
        let ids: Vec<Vec<u32>> = label
            .tokens
            .iter()
            .map(|w| {
                let exact = self.expand(w, label);
                if exact.is_empty() { self.near(w) } else { exact }
            })
            .collect();
        let mut budget = PAIR_BUDGET;
        'pairs: for (i, a) in ids.iter().enumerate().filter(|(_, a)| !a.is_empty()) {
            for (j, b) in ids.iter().enumerate() {
                if i == j {
                    continue;
                }
                for x in a {
                    for y in b {
                        if budget == 0 {
                            break 'pairs;
                        }
                        budget -= 1;
                        if let Some(p) = self.pairs.get(&(*x, *y)) {
                            out.extend(p);
                        }
                    }
                }
            }
        }
        for w in &label.tokens {
            if let Some(p) = self.numbers.get(w.as_str()) {
                out.push(*p);
            }
        }
        for inv in &label.invoices {
            if let Some(p) = self.invoices.get(inv) {
                out.push(*p);
            }
        }
        if let Some(key) = &label.payer_key
            && let Some(p) = self.aliases.get(key)
        {
            out.extend(p);
        }
        if out.is_empty() {
            for a in ids.iter().flatten() {
                if let Some(p) = self.lasts.get(a).filter(|p| p.len() <= 50) {
                    out.extend(p);
                }
            }
        }
        if out.is_empty()
            && let Some(p) = self.amounts.get(&amount.cents()).filter(|p| p.len() <= 10)
        {
            out.extend(p);
        }
        out.sort_unstable();
        out.dedup();
        if out.len() > NARROW_FROM {
            let keep = |out: &mut Vec<u32>, f: &dyn Fn(&Payee) -> bool| {
                if out.iter().any(|&i| f(&self.payees[i as usize])) {
                    out.retain(|&i| f(&self.payees[i as usize]));
                }
            };
            keep(&mut out, &|p| owes(p, amount, rules));
            if let Some(school) = label.school {
                keep(&mut out, &|p| p.school == school);
            }
            // Still that many: none can be told from the others; the first ones are enough to
            // show, in a stable order.
            out.sort_unstable();
            out.truncate(MAX_SCORED);
        }
        out
    }

    /// Ranks the candidates of a credit line and says what to do with it.
    pub fn suggest(
        &self,
        label_text: &str,
        date: NaiveDate,
        amount: Money,
        rules: &MatchRules,
    ) -> (LineStatus, Vec<(u32, Suggestion)>) {
        self.suggest_label(&parse_label(label_text), date, amount, rules)
    }

    /// `suggest` for a label already read (`parse_label`): an import reads its labels while the
    /// database is being read, on the other core.
    pub fn suggest_label(
        &self,
        label: &Label,
        date: NaiveDate,
        amount: Money,
        rules: &MatchRules,
    ) -> (LineStatus, Vec<(u32, Suggestion)>) {
        if !amount.is_positive() {
            return (LineStatus::Debit, Vec::new());
        }
        let read = Read { label, unknown: self.unknown_words(label) };
        // Ranked on points alone; only the five shown get their reasons written.
        let mut scored: Vec<(u32, i64, bool)> = self
            .candidates(label, amount, rules)
            .into_iter()
            .map(|i| {
                let (points, may_auto) = self.score(i as usize, &read, date, amount, rules, &mut Why(None));
                (i, points, may_auto)
            })
            .collect();
        scored.retain(|(_, points, _)| *points > 0);
        let number = |i: u32| &self.payees[i as usize].number;
        scored.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| number(a.0).cmp(number(b.0))));
        scored.truncate(5);
        let may_auto = scored.first().is_some_and(|b| b.2);
        let status = match scored.as_slice() {
            [] => LineStatus::Unmatched,
            [best, rest @ ..] => {
                let second = rest.first().map(|s| s.1).unwrap_or(0);
                if may_auto && best.1 >= rules.auto_score && best.1 - second >= rules.auto_lead {
                    LineStatus::Matched
                } else if best.1 >= rules.review_score {
                    LineStatus::ToReview
                } else {
                    LineStatus::Unmatched
                }
            }
        };
        // A line matched is explained by its student's reasons alone: the runners-up are not
        // shown, so they are not scored a second time for their words.
        let explained = if status == LineStatus::Matched { 1 } else { scored.len() };
        let ranked: Vec<(u32, Suggestion)> = scored
            .into_iter()
            .enumerate()
            .map(|(rank, (i, points, _))| {
                let p = &self.payees[i as usize];
                let reasons = if rank < explained {
                    let mut why = Why(Some(Vec::new()));
                    self.score(i as usize, &read, date, amount, rules, &mut why);
                    why.0.unwrap_or_default()
                } else {
                    Vec::new()
                };
                let name = format!("{} {}", p.last_name, p.first_name);
                (i, Suggestion { student_number: p.number.clone(), name, score: points, reasons })
            })
            .collect();
        (status, ranked)
    }

    /// The candidate's score (its reasons into `reasons`), and whether it may be matched without
    /// a person: a name found only through a typo needs the school and the amount beside it (a
    /// typo alone never matches automatically).
    fn score(
        &self,
        i: usize,
        read: &Read<'_>,
        date: NaiveDate,
        amount: Money,
        rules: &MatchRules,
        reasons: &mut Why,
    ) -> (i64, bool) {
        let Read { label, unknown } = read;
        let p = &self.payees[i];
        let (lasts, firsts) = &self.names[i];
        let mut score = 0;
        let has = |w: &str| label.tokens.iter().any(|t| t == w) || label.cut.iter().any(|t| w.starts_with(t.as_str()));
        let mut near = Vec::new();
        let mut hit = |w: &String| {
            if has(w) {
                return true;
            }
            let typo = near_word(unknown, w);
            near.extend(typo.map(|t| format!("nom proche : {t} ≈ {w}")));
            typo.is_some()
        };
        let last_hits = lasts.iter().filter(|w| hit(w)).count();
        let first_hits = firsts.iter().filter(|w| hit(w)).count();
        let total = lasts.len() + firsts.len();
        if last_hits + first_hits > 0 {
            reasons.push(|| format!("nom {}/{}", last_hits + first_hits, total));
            score += match (last_hits == lasts.len() && last_hits > 0, first_hits > 0) {
                (true, true) => 55,
                (true, false) => 35,
                (false, true) if last_hits > 0 => 40,
                (false, true) => 5,
                (false, false) => 20,
            };
            // A typo is weaker evidence than the name as written.
            score -= NEAR_PENALTY * near.len() as i64;
            for n in &near {
                reasons.push(|| n.clone());
            }
        }
        let mut certain = false;
        if let (Some(payer), Some(key)) = (&label.payer, &label.payer_key)
            && p.aliases.contains(key)
        {
            score += 45;
            certain = true;
            reasons.push(|| format!("payeur connu : {payer}"));
        }
        if label.tokens.iter().any(|t| t.eq_ignore_ascii_case(&p.number)) {
            score += 60;
            certain = true;
            reasons.push(|| format!("n° étudiant {}", p.number));
        }
        // Invoice numbers are ASCII: compared without an upper-cased copy per candidate and line.
        if let Some(inv) =
            p.open.iter().find_map(|o| label.invoices.iter().find(|n| n.eq_ignore_ascii_case(&o.invoice_number)))
        {
            score += 60;
            certain = true;
            reasons.push(|| format!("facture {inv}"));
        }
        let same_school = label.school == Some(p.school);
        match label.school {
            Some(s) if s == p.school => {
                score += 10;
                reasons.push(|| s.code().to_string());
            }
            Some(_) => {
                score -= 15;
                reasons.push(|| "autre école".to_string());
            }
            None => {}
        }
        if label.fee_marker {
            score += 5;
            reasons.push(|| "F.I".to_string());
        }
        let (points, due) = amount_fit(p, amount, rules, reasons);
        let amount_fits = points >= 15;
        score += points;
        if let Some(due) = due {
            let days = (date - due).num_days();
            if days.abs() <= 20 {
                score += 10;
                reasons.push(|| match days {
                    0 => "le jour de l'échéance".to_string(),
                    d if d > 0 => format!("{d} jour(s) après l'échéance"),
                    d => format!("{} jour(s) avant l'échéance", -d),
                });
            }
        }
        let may_auto = near.is_empty() || certain || (same_school && amount_fits);
        (score, may_auto)
    }
}

/// A line's label as the scoring reads it: with its words that are no one's name word, where
/// typos are looked for.
struct Read<'l> {
    label: &'l Label,
    unknown: Vec<&'l str>,
}

/// The label's word (of those that are no one's name word) that a payee's name word `w` may be a
/// typo of, if any.
fn near_word<'l>(unknown: &[&'l str], w: &str) -> Option<&'l str> {
    if w.len() < NEAR_MIN {
        return None;
    }
    unknown.iter().find(|t| typo_apart(t, w)).copied()
}

/// The words of a label looked at.
const MAX_WORDS: usize = 48;
/// Name pairs looked up per line, at most.
const PAIR_BUDGET: usize = 4096;
/// Beyond so many candidates, only those who owe the amount (and of the label's school) are scored...
const NARROW_FROM: usize = 16;
/// ...and at most so many.
const MAX_SCORED: usize = 64;

/// The shortest name a typo is looked for in: shorter names are one typo away from too many others.
const NEAR_MIN: usize = 5;
/// The most names one label word may be a typo of.
const NEAR_MAX: usize = 8;
/// What a name word found through a typo costs, against the name as written.
const NEAR_PENALTY: i64 = 15;

/// A word without each of its letters in turn (ASCII: the words are canonical).
fn deletions(w: &str) -> impl Iterator<Item = String> + '_ {
    (0..w.len()).map(move |i| format!("{}{}", &w[..i], &w[i + 1..]))
}

/// One typo apart: the words differ but share a word one letter shorter than the longer of them,
/// that is one letter changed, added, dropped or moved (two neighbours swapped is a move:
/// DUPOMT ≈ DUPONT, LEFVEBRE ≈ LEFEBVRE); the longer word has at least `NEAR_MIN` letters.
/// Exactly the pairs the deletion index brings together. ASCII words (canonical labels).
fn typo_apart(a: &str, b: &str) -> bool {
    let (a, b) = if a.len() >= b.len() { (a.as_bytes(), b.as_bytes()) } else { (b.as_bytes(), a.as_bytes()) };
    if a.len() < NEAR_MIN || a.len() - b.len() > 1 || a == b {
        return false;
    }
    // What is left once the common start and end are set aside (never overlapping).
    let start = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let end = a[start..].iter().rev().zip(b[start..].iter().rev()).take_while(|(x, y)| x == y).count();
    let (a, b) = (&a[start..a.len() - end], &b[start..b.len() - end]);
    if a.len() > b.len() {
        // A letter added: it is all that differs.
        return a.len() == 1 && b.is_empty();
    }
    // Same length, first and last letters differ: one is dropped from the front of a word and
    // the back of the other.
    let m = a.len();
    m == 1 || a[1..] == b[..m - 1] || a[..m - 1] == b[1..]
}

/// Invoice numbers written in a label (`F2025-00012` arrives as the words F2025 and 00012).
fn invoice_numbers(tokens: &[String]) -> Vec<String> {
    tokens
        .windows(2)
        .filter(|w| {
            w[0].len() == 5
                && w[0].starts_with('F')
                && w[0][1..].chars().all(|c| c.is_ascii_digit())
                && w[1].chars().all(|c| c.is_ascii_digit())
        })
        .map(|w| format!("{}-{:0>5}", w[0], w[1]))
        .collect()
}

fn ordinal(n: i64) -> String {
    if n == 1 { "1re".to_string() } else { format!("{n}e") }
}

/// Whether the amount pays some of what the payee owes, as `amount_fit` would give it points for:
/// the cheap test that narrows a crowd of namesakes.
fn owes(p: &Payee, amount: Money, rules: &MatchRules) -> bool {
    let mut sum = Money::ZERO;
    p.open.iter().any(|o| o.left == amount)
        || p.open.iter().any(|o| {
            sum += o.left;
            let short = sum - amount;
            short.is_zero() || (short.is_positive() && short <= rules.fee_tolerance)
        })
}

/// Where a score's reasons go: written for the suggestions shown, skipped while a crowd of
/// candidates is ranked.
struct Why(Option<Vec<String>>);

impl Why {
    fn push(&mut self, reason: impl FnOnce() -> String) {
        if let Some(reasons) = &mut self.0 {
            reasons.push(reason());
        }
    }
}

/// How the amount fits the payee's open installments: one of them, several in a row, one short
/// by bank fees, or more than everything owed. Returns the points and the due date the payment
/// most likely answers; says why into `why`.
fn amount_fit(p: &Payee, amount: Money, rules: &MatchRules, why: &mut Why) -> (i64, Option<NaiveDate>) {
    if p.open.is_empty() {
        why.push(|| "rien à payer".to_string());
        return (0, None);
    }
    if let Some(o) = p.open.iter().find(|o| o.left == amount) {
        why.push(|| format!("montant = {} échéance", ordinal(o.n)));
        return (30, Some(o.due_date));
    }
    let mut sum = Money::ZERO;
    for (k, o) in p.open.iter().enumerate() {
        sum += o.left;
        if k > 0 && sum == amount {
            why.push(|| format!("montant = échéances {} à {}", p.open[0].n, o.n));
            return (25, Some(p.open[0].due_date));
        }
        let short = sum - amount;
        if short.is_positive() && short <= rules.fee_tolerance {
            why.push(|| {
                let what = if k == 0 {
                    format!("{} échéance", ordinal(o.n))
                } else {
                    format!("échéances {} à {}", p.open[0].n, o.n)
                };
                format!("montant = {what} − {} (frais bancaires ?)", short.to_french())
            });
            return (15, Some(p.open[0].due_date));
        }
    }
    if amount > sum {
        why.push(|| format!("trop-perçu de {} (restera en crédit)", (amount - sum).to_french()));
        return (5, Some(p.open[0].due_date));
    }
    (0, Some(p.open[0].due_date))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payees_hold_their_open_installments_in_settling_order() {
        let d = |m, day| NaiveDate::from_ymd_opt(2025, m, day).unwrap();
        let item = |student_id, invoice_id, installment_id, n, due_date| OpenInstallment {
            student_id,
            invoice_id,
            installment_id,
            n,
            due_date,
            left: Money::from_cents(100),
        };
        let who = |number: &str| PayeeName {
            number: number.into(),
            last_name: "Martin".into(),
            first_name: "Léa".into(),
            school: School::Isima,
            aliases: vec!["M LEA MARTIN".into()],
        };
        let open = vec![
            item(2, 20, 203, 3, d(12, 10)),
            item(1, 10, 102, 2, d(11, 10)),
            item(2, 21, 211, 1, d(10, 10)),
            item(1, 10, 101, 1, d(10, 10)),
            item(2, 20, 202, 2, d(11, 10)),
            item(3, 30, 301, 1, d(10, 10)),
        ];
        let students = HashMap::from([(1, who("22000001")), (2, who("22000002"))]);
        let invoices =
            HashMap::from([(10, "F2025-00010".into()), (20, "F2025-00020".into()), (21, "F2025-00021".into())]);
        let payees = payees(open, students, &invoices);
        let order: Vec<(i64, Vec<i64>)> =
            payees.iter().map(|p| (p.student_id, p.open.iter().map(|o| o.installment_id).collect())).collect();
        // Student 3 is unknown: left out, no panic.
        assert_eq!(order, [(1, vec![101, 102]), (2, vec![211, 202, 203])]);
        assert_eq!(payees[1].open[0].invoice_number, "F2025-00021");
        assert_eq!(payees[0].aliases, ["M LEA MARTIN"]);
    }

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, m, day).unwrap()
    }

    fn payee(id: i64, number: &str, last: &str, first: &str, school: School, lefts: &[i64]) -> Payee {
        Payee {
            student_id: id,
            number: number.into(),
            last_name: last.into(),
            first_name: first.into(),
            school,
            open: lefts
                .iter()
                .enumerate()
                .map(|(k, c)| OpenItem {
                    installment_id: id * 10 + k as i64,
                    n: k as i64 + 2,
                    due_date: d(10 + k as u32, 10),
                    left: Money::from_cents(*c),
                    invoice_number: format!("F2025-{id:05}"),
                })
                .collect(),
            aliases: Vec::new(),
        }
    }

    fn index() -> Index {
        Index::build(vec![
            payee(1, "25000001", "Durand", "Léa", School::Isima, &[163050, 163050]),
            payee(2, "25000002", "Durand", "Paul", School::Polytech, &[63380, 63380]),
            payee(3, "25000003", "Da Silva", "Éloïse", School::Isima, &[20600]),
        ])
    }

    #[test]
    fn a_clear_transfer_is_matched_with_its_reasons() {
        let idx = index();
        let (status, ranked) = idx.suggest(
            "VIR SEPA RECU /DE LEA DURAND /MOTIF DURAND+ISIMA+F.I",
            d(10, 13),
            Money::from_cents(163050),
            &MatchRules::default(),
        );
        assert_eq!(status, LineStatus::Matched);
        assert_eq!(ranked[0].1.student_number, "25000001");
        assert_eq!(
            ranked[0].1.reasons,
            ["nom 2/2", "ISIMA", "F.I", "montant = 2e échéance", "3 jour(s) après l'échéance"]
        );
    }

    #[test]
    fn accents_dropped_names_reversed_and_truncated() {
        let idx = index();
        let (status, ranked) =
            idx.suggest("VIR SEPA RECU /DE ELOISE DA SIL", d(10, 9), Money::from_cents(20600), &MatchRules::default());
        assert_eq!(ranked[0].1.student_number, "25000003");
        assert_eq!(status, LineStatus::Matched, "{ranked:?}");
    }

    #[test]
    fn same_last_name_without_first_name_is_never_guessed() {
        let idx = index();
        let (status, ranked) = idx.suggest("VIR DURAND", d(10, 10), Money::from_cents(10000), &MatchRules::default());
        assert_eq!(status, LineStatus::ToReview);
        assert_eq!(ranked.len(), 2);
        assert_eq!(ranked[0].1.score, ranked[1].1.score);
    }

    #[test]
    fn fees_short_two_installments_and_overpayment() {
        let idx = index();
        let r = MatchRules::default();
        let (_, short) = idx.suggest("VIR LEA DURAND ISIMA", d(10, 12), Money::from_cents(161550), &r);
        assert!(
            short[0].1.reasons.iter().any(|x| x.contains("15,00 €") && x.contains("frais")),
            "{:?}",
            short[0].1.reasons
        );
        let (_, two) = idx.suggest("VIR PAUL DURAND", d(10, 12), Money::from_cents(126760), &r);
        assert!(two[0].1.reasons.contains(&"montant = échéances 2 à 3".to_string()), "{:?}", two[0].1.reasons);
        let (_, over) = idx.suggest("VIR ELOISE DA SILVA", d(10, 12), Money::from_cents(30000), &r);
        assert!(over[0].1.reasons.iter().any(|x| x.starts_with("trop-perçu de 94,00")), "{:?}", over[0].1.reasons);
    }

    #[test]
    fn a_learned_payer_alias_is_used_and_shown() {
        let mut payees = index().payees;
        payees[1].aliases.push(alias_key("MARTIN PIERRE"));
        let idx = Index::build(payees);
        let (status, ranked) = idx.suggest(
            "VIR SEPA RECU /DE PIERRE MARTIN /MOTIF SCOLARITE",
            d(10, 11),
            Money::from_cents(63380),
            &MatchRules::default(),
        );
        assert_eq!(ranked[0].1.student_number, "25000002");
        assert!(ranked[0].1.reasons.contains(&"payeur connu : PIERRE MARTIN".to_string()));
        assert_eq!(status, LineStatus::Matched, "{ranked:?}");
    }

    fn typo_index() -> Index {
        Index::build(vec![
            payee(1, "25000001", "Dupont", "Léa", School::Isima, &[20600]),
            payee(2, "25000002", "Lefebvre", "Hugo", School::Polytech, &[63380]),
            payee(3, "25000003", "Dupond", "Marie", School::Isima, &[20600]),
            payee(4, "25000004", "Dupons", "Marie", School::Isima, &[20600]),
        ])
    }

    #[test]
    fn a_name_one_typo_away_is_a_candidate_and_says_so() {
        let idx = typo_index();
        let r = MatchRules::default();
        // No school, no amount that fits: suggested first, explained, never matched.
        let (status, ranked) = idx.suggest("VIR SEPA RECU /DE DUPOMT LEA", d(10, 10), Money::from_cents(5000), &r);
        assert_eq!(status, LineStatus::ToReview, "{ranked:?}");
        assert_eq!(ranked[0].1.student_number, "25000001");
        assert!(ranked[0].1.reasons.contains(&"nom proche : DUPOMT ≈ DUPONT".to_string()), "{:?}", ranked[0].1.reasons);
        // Two letters swapped.
        let (_, ranked) = idx.suggest("VIR /DE HUGO LEFVEBRE", d(10, 10), Money::from_cents(5000), &r);
        assert_eq!(ranked[0].1.student_number, "25000002");
        assert!(ranked[0].1.reasons.contains(&"nom proche : LEFVEBRE ≈ LEFEBVRE".to_string()));
    }

    #[test]
    fn a_typo_matches_only_with_the_school_and_the_amount() {
        let idx = typo_index();
        let r = MatchRules::default();
        // Amount and due date, no school: high score, still for a person.
        let (status, ranked) = idx.suggest("VIR /DE DUPOMT LEA /MOTIF F.I", d(10, 10), Money::from_cents(20600), &r);
        assert!(ranked[0].1.score >= r.auto_score, "{ranked:?}");
        assert_eq!(status, LineStatus::ToReview);
        let (status, ranked) = idx.suggest("VIR /DE DUPOMT LEA /MOTIF ISIMA", d(10, 10), Money::from_cents(20600), &r);
        assert_eq!((status, ranked[0].1.student_number.as_str()), (LineStatus::Matched, "25000001"));
    }

    #[test]
    fn a_typo_between_two_names_is_never_guessed_and_a_real_name_is_no_typo() {
        let idx = typo_index();
        let r = MatchRules::default();
        // DUPONX is one letter from DUPOND and DUPONS, both Marie at ISIMA owing the amount.
        let (status, ranked) = idx.suggest("VIR /DE DUPONX MARIE ISIMA", d(10, 10), Money::from_cents(20600), &r);
        assert_eq!(status, LineStatus::ToReview);
        assert_eq!(ranked[0].1.score, ranked[1].1.score, "{ranked:?}");
        // DUPOND is a name: it is not read as a typo of DUPONT (or DUPONS).
        let (status, ranked) = idx.suggest("VIR /DE DUPOND MARIE ISIMA", d(10, 10), Money::from_cents(20600), &r);
        assert_eq!((status, ranked[0].1.student_number.as_str()), (LineStatus::Matched, "25000003"), "{ranked:?}");
        assert!(ranked.iter().all(|s| s.1.reasons.iter().all(|x| !x.starts_with("nom proche"))), "{ranked:?}");
    }

    #[test]
    fn a_crowd_of_namesakes_is_narrowed_to_who_owes_the_amount() {
        // Two hundred Léa Martin; one owes 412 €, the others 206 € (half at each school).
        let mut payees: Vec<Payee> = (0..200)
            .map(|i| {
                let school = if i % 2 == 0 { School::Isima } else { School::Polytech };
                payee(i, &format!("25{i:06}"), "Martin", "Léa", school, &[20600])
            })
            .collect();
        payees[137].open[0].left = Money::from_cents(41200);
        let idx = Index::build(payees);
        let r = MatchRules::default();
        let (status, ranked) = idx.suggest("VIR /DE MARTIN LEA", d(10, 10), Money::from_cents(41200), &r);
        assert_eq!((status, ranked.len(), ranked[0].1.student_number.as_str()), (LineStatus::Matched, 1, "25000137"));
        // 206 €: a hundred owe it at ISIMA; none can be told apart, five are shown, never matched.
        let (status, ranked) = idx.suggest("VIR /DE MARTIN LEA ISIMA", d(10, 10), Money::from_cents(20600), &r);
        assert_eq!((status, ranked.len()), (LineStatus::ToReview, 5));
        assert!(ranked.iter().all(|s| s.1.reasons.contains(&"ISIMA".to_string())), "{ranked:?}");
    }

    #[test]
    fn a_label_of_thousands_of_words_is_read_as_its_first_words() {
        let idx = index();
        let r = MatchRules::default();
        let junk = "LEA DURAND PAUL ".repeat(5000);
        assert_eq!(parse_label(&junk).tokens.len(), MAX_WORDS);
        let (status, ranked) = idx.suggest(&format!("VIR /DE {junk}"), d(10, 10), Money::from_cents(777), &r);
        assert_eq!((status, ranked.len()), (LineStatus::ToReview, 2), "both Durand named, neither owes: {ranked:?}");
        let tail = "ZZTOP QWERTY ".repeat(5000);
        let (status, ranked) =
            idx.suggest(&format!("VIR /DE ELOISE DA SILVA /MOTIF {tail}"), d(10, 10), Money::from_cents(20600), &r);
        assert_eq!((status, ranked[0].1.student_number.as_str()), (LineStatus::Matched, "25000003"));
    }

    #[test]
    fn deletions_and_typo_distance() {
        assert_eq!(deletions("ABC").collect::<Vec<_>>(), ["BC", "AC", "AB"]);
        assert!(typo_apart("DUPOMT", "DUPONT") && typo_apart("LEFVEBRE", "LEFEBVRE") && typo_apart("DUPNT", "DUPONT"));
        assert!(typo_apart("DUPONT", "DUPONTS") && typo_apart("BERNADR", "BERNARD") && typo_apart("AARON", "AAARON"));
        assert!(!typo_apart("ROUX", "ROUS"), "four letters: too many names are one letter apart");
        assert!(
            !typo_apart("DUPONT", "DUPONT") && !typo_apart("DUPONT", "DUPOMTS") && !typo_apart("MARTIN", "MATRINS")
        );
        assert!(!typo_apart("MARTIN", "MRATNI") && !typo_apart("DURAND", "DURANDES"));
    }

    proptest::proptest! {
        /// The fast test says exactly what its definition says: the words share a one-letter
        /// deletion of the longer (or the shorter is one).
        #[test]
        fn typo_apart_is_sharing_a_deletion(a in "[ABN]{3,8}", b in "[ABN]{3,8}") {
            let (long, short) = if a.len() >= b.len() { (&a, &b) } else { (&b, &a) };
            let shared = deletions(long).any(|d| &d == short || (long.len() == short.len() && deletions(short).any(|e| e == d)));
            let defined = long.len() >= NEAR_MIN && long.len() - short.len() <= 1 && a != b && shared;
            proptest::prop_assert_eq!(typo_apart(&a, &b), defined, "{} {}", a, b);
        }
    }

    #[test]
    fn debits_are_not_matched() {
        assert_eq!(
            index().suggest("PRLV X", d(10, 1), Money::from_cents(-500), &MatchRules::default()).0,
            LineStatus::Debit
        );
    }
}
