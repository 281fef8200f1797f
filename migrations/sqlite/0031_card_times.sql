-- A gateway row's time in one form, HH:MM:SS, for the rows imported before it was read so
-- (5 December 2026): an ods time was kept as its ISO text (PT14H02M11S), a time of the CSV as
-- written (6:10:31, 14:02), anything else too (99:99:99), and an xlsx time as the date it makes
-- (30/12/1899), the time itself lost. Rows of a day sort by this column, and the window shows it.
-- What can be read is rewritten; what cannot (the xlsx dates, junk) becomes unknown (NULL), as a
-- row without a time is.
UPDATE card_transactions SET time = CASE
    WHEN time GLOB '[0-9]:[0-5][0-9]:[0-5][0-9]' THEN '0' || time
    WHEN time GLOB '[01][0-9]:[0-5][0-9]' OR time GLOB '2[0-3]:[0-5][0-9]' THEN time || ':00'
    WHEN time GLOB '[0-9]:[0-5][0-9]' THEN '0' || time || ':00'
    WHEN time GLOB 'PT[0-9]*H[0-9]*M[0-9]*S'
        AND CAST(substr(time, 3, instr(time, 'H') - 3) AS INTEGER) BETWEEN 0 AND 23
        AND CAST(substr(time, instr(time, 'H') + 1, instr(time, 'M') - instr(time, 'H') - 1) AS INTEGER) BETWEEN 0 AND 59
        AND CAST(substr(time, instr(time, 'M') + 1, instr(time, 'S') - instr(time, 'M') - 1) AS INTEGER) BETWEEN 0 AND 59
    THEN printf('%02d:%02d:%02d',
        CAST(substr(time, 3, instr(time, 'H') - 3) AS INTEGER),
        CAST(substr(time, instr(time, 'H') + 1, instr(time, 'M') - instr(time, 'H') - 1) AS INTEGER),
        CAST(substr(time, instr(time, 'M') + 1, instr(time, 'S') - instr(time, 'M') - 1) AS INTEGER))
    ELSE NULL
END
WHERE time IS NOT NULL
  AND NOT (time GLOB '[01][0-9]:[0-5][0-9]:[0-5][0-9]' OR time GLOB '2[0-3]:[0-5][0-9]:[0-5][0-9]');
