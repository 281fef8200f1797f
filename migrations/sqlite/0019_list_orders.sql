-- The invoices list offers the sessions invoices were issued for: found by walking this index
-- from one session to the next (`store::invoices::SESSIONS`), not by reading every invoice
-- (ten years of a large office: 30 ms, most of the list's first page).
CREATE INDEX IF NOT EXISTS invoices_session ON invoices (session);

-- Cartes opens on the latest transactions: read from the end of this index instead of sorting
-- every transaction ever imported (ten years: 37 ms). A gateway export comes in date order, so
-- its rows land at the index's end.
CREATE INDEX IF NOT EXISTS card_transactions_date ON card_transactions (date, time, id);
