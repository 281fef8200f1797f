-- Whether a school's differentiated fees (05) are paid by bank transfer only: ISIMA's procedure
-- ("au-delà des plafonds des cartes bancaires ... par virement"); Polytech's 05 students pay by card.
ALTER TABLE school_settings ADD COLUMN differentiated_by_transfer INTEGER NOT NULL DEFAULT 0;
UPDATE school_settings SET differentiated_by_transfer = 1 WHERE school = 'ISIMA';
