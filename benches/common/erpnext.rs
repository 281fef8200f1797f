//! The party matcher of ERPNext's bank reconciliation, rebuilt to be measured beside ours on the
//! same lines: rapidfuzz's `token_set_ratio` of the label against every party's name, the best at
//! 80 or more, and no match when two parties share the best score. It is given folded, lower-cased
//! text (which it does not do by itself), so that it loses nothing to accents or case.

/// Folded, lower-cased, as both sides are given to it.
pub fn prepare(text: &str) -> String {
    regie::page::fold(text)
}

/// rapidfuzz's `fuzz.token_set_ratio` (no preprocessing), as its source computes it: the words of
/// each side as sets; 100 when they share a word and one side has no other; otherwise the best of
/// the Indel similarity of "common + a's own" with "common + b's own" (the common words cancel:
/// the distance is that of the own words, sorted and joined), and, when they share words, of the
/// common words with either side (a distance of the own words' length).
pub fn token_set_ratio(a: &str, b: &str) -> f64 {
    let (wa, wb) = (words(a), words(b));
    if wa.is_empty() || wb.is_empty() {
        return 0.0;
    }
    let sect: Vec<&str> = wa.iter().filter(|w| wb.binary_search(w).is_ok()).copied().collect();
    let only_a = wa.iter().filter(|w| wb.binary_search(w).is_err()).copied().collect::<Vec<_>>().join(" ");
    let only_b = wb.iter().filter(|w| wa.binary_search(w).is_err()).copied().collect::<Vec<_>>().join(" ");
    if !sect.is_empty() && (only_a.is_empty() || only_b.is_empty()) {
        return 100.0;
    }
    let chars = |s: &str| s.chars().count();
    let (ab_len, ba_len) = (chars(&only_a), chars(&only_b));
    let sect_len = chars(&sect.join(" "));
    let gap = usize::from(sect_len != 0);
    let (sect_ab_len, sect_ba_len) = (sect_len + gap + ab_len, sect_len + gap + ba_len);
    let norm = |dist: usize, total: usize| if total == 0 { 100.0 } else { 100.0 - 100.0 * dist as f64 / total as f64 };
    let (xa, xb): (Vec<char>, Vec<char>) = (only_a.chars().collect(), only_b.chars().collect());
    let indel = ab_len + ba_len - 2 * lcs(&xa, &xb);
    let result = norm(indel, sect_ab_len + sect_ba_len);
    if sect_len == 0 {
        return result;
    }
    let sect_ab = norm(gap + ab_len, sect_len + sect_ab_len);
    let sect_ba = norm(gap + ba_len, sect_len + sect_ba_len);
    result.max(sect_ab).max(sect_ba)
}

/// The distinct words of a text, sorted.
fn words(s: &str) -> Vec<&str> {
    let mut w: Vec<&str> = s.split_whitespace().collect();
    w.sort_unstable();
    w.dedup();
    w
}

/// Normalized Indel similarity (`fuzz.ratio`): 100 × 2 × LCS / (|a| + |b|), in characters.
pub fn ratio(a: &str, b: &str) -> f64 {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.is_empty() && b.is_empty() {
        return 100.0;
    }
    200.0 * lcs(&a, &b) as f64 / (a.len() + b.len()) as f64
}

/// Longest common subsequence, bit-parallel (Hyyrö) over the shorter side when it fits 128 bits.
pub fn lcs(a: &[char], b: &[char]) -> usize {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if short.is_empty() {
        return 0;
    }
    if short.len() > 128 {
        let mut row = vec![0usize; short.len() + 1];
        for &c in long {
            let mut diagonal = 0;
            for (j, &s) in short.iter().enumerate() {
                let up = row[j + 1];
                row[j + 1] = if c == s { diagonal + 1 } else { up.max(row[j]) };
                diagonal = up;
            }
        }
        return row[short.len()];
    }
    let mask = |c: char| short.iter().enumerate().filter(|(_, s)| **s == c).fold(0u128, |m, (i, _)| m | 1 << i);
    let mut v: u128 = !0;
    for &c in long {
        let m = mask(c);
        let u = v & m;
        v = v.wrapping_add(u) | (v & !m);
    }
    let used = if short.len() == 128 { !0 } else { (1u128 << short.len()) - 1 };
    (!v & used).count_ones() as usize
}

/// The party ERPNext would pick for `label` among `names` (both prepared): the one scoring best
/// at 80 or more, none on a tie.
pub fn party(label: &str, names: &[String]) -> Option<usize> {
    best(label, names, 0..names.len())
}

/// `party` among the `candidates` only (indices into `names`): the caller vouches that no other
/// name reaches 80.
pub fn best(label: &str, names: &[String], candidates: impl IntoIterator<Item = usize>) -> Option<usize> {
    let mut best: Option<(f64, usize, bool)> = None;
    for i in candidates {
        let score = token_set_ratio(label, &names[i]);
        if score < 80.0 {
            continue;
        }
        best = match best {
            Some((s, _, _)) if score < s => best,
            Some((s, j, _)) if score == s => Some((s, j, true)),
            _ => Some((score, i, false)),
        };
    }
    best.and_then(|(_, i, tie)| (!tie).then_some(i))
}
