-- What the portal can say of an exchange agreement (Brafitec, Ensam, Ensias: "vous cochez la case
-- 07") and of an apprentice ("les étudiants en apprentissage doivent sélectionner le code 01").
-- NULL: the file did not say. The agreement is kept as written ('oui' when only a flag was given).
ALTER TABLE requests ADD COLUMN exchange_agreement TEXT;
ALTER TABLE requests ADD COLUMN apprentice INTEGER;

-- Students a finance manager put before the commission by hand: the candidates are those paying
-- differentiated fees (05); situations priced per contract (20, 25, 42, 43) only this way.
CREATE TABLE exemption_additions (
    id         INTEGER PRIMARY KEY,
    invoice_id INTEGER NOT NULL UNIQUE REFERENCES invoices (id),
    added_by   TEXT NOT NULL,
    added_at   TEXT NOT NULL,
    reason     TEXT NOT NULL
);

-- The sessions' full labels as the portal prints them on invoices ("P2223_Y3_3A - Ingénieur
-- Polytech - spécialité Génie Civil 3ème année"); a session without one prints its code.
CREATE TABLE session_labels (
    session TEXT PRIMARY KEY,
    label   TEXT NOT NULL
);

-- The bank's domiciliation printed on transfer letters beside the IBAN and BIC.
ALTER TABLE school_settings ADD COLUMN domiciliation TEXT NOT NULL DEFAULT 'TPCLERMONT F';

-- Why a payment was reversed: it came back ('unpaid': a chargeback, a rejected transfer; the
-- position's "Impayé") or it was matched to the wrong student ('correction': it never belonged
-- to this account). Earlier reversals were all undone bank matches.
ALTER TABLE payments ADD COLUMN reversal TEXT CHECK (reversal IS NULL OR reversal IN ('unpaid', 'correction'));
UPDATE payments SET reversal = 'correction' WHERE reverses IS NOT NULL;
