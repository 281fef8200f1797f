-- A gateway row's time in one form, HH:MM:SS, for the rows imported before it was read so
-- (5 December 2026): an ods time was kept as its ISO text (PT14H02M11S), a time of the CSV as
-- written (6:10:31, 14:02), anything else too (99:99:99), and an xlsx time as the date it makes
-- (30/12/1899), the time itself lost. Rows of a day sort by this column, and the window shows it.
-- What can be read is rewritten, as the import reads it now; what cannot (the xlsx dates, junk)
-- becomes unknown (NULL), as a row without a time is. PostgreSQL's migration of the same number
-- reads the same forms.
UPDATE card_transactions SET time = CASE
    WHEN time GLOB '[0-9]:[0-5][0-9]:[0-5][0-9]' THEN '0' || time
    WHEN time GLOB '[01][0-9]:[0-5][0-9]' OR time GLOB '2[0-3]:[0-5][0-9]' THEN time || ':00'
    WHEN time GLOB '[0-9]:[0-5][0-9]' THEN '0' || time || ':00'
    -- PT, then hours, minutes and seconds of one or two digits (the seconds perhaps with a
    -- fraction, dropped).
    WHEN time GLOB 'PT*H*M*S' AND instr(time, 'H') < instr(time, 'M')
        AND (substr(time, 3, instr(time, 'H') - 3) GLOB '[0-9]' OR substr(time, 3, instr(time, 'H') - 3) GLOB '[0-9][0-9]')
        AND (substr(time, instr(time, 'H') + 1, instr(time, 'M') - instr(time, 'H') - 1) GLOB '[0-9]' OR substr(time, instr(time, 'H') + 1, instr(time, 'M') - instr(time, 'H') - 1) GLOB '[0-9][0-9]')
        AND ((substr(time, instr(time, 'M') + 1, instr(time, 'S') - instr(time, 'M') - 1) GLOB '[0-9]' OR substr(time, instr(time, 'M') + 1, instr(time, 'S') - instr(time, 'M') - 1) GLOB '[0-9][0-9]') OR ((substr(time, instr(time, 'M') + 1, instr(time, 'S') - instr(time, 'M') - 1) GLOB '[0-9].*' OR substr(time, instr(time, 'M') + 1, instr(time, 'S') - instr(time, 'M') - 1) GLOB '[0-9][0-9].*') AND NOT substr(substr(time, instr(time, 'M') + 1, instr(time, 'S') - instr(time, 'M') - 1), instr(substr(time, instr(time, 'M') + 1, instr(time, 'S') - instr(time, 'M') - 1), '.') + 1) GLOB '*[^0-9]*'))
        AND CAST(substr(time, 3, instr(time, 'H') - 3) AS INTEGER) < 24
        AND CAST(substr(time, instr(time, 'H') + 1, instr(time, 'M') - instr(time, 'H') - 1) AS INTEGER) < 60
        AND CAST(substr(time, instr(time, 'M') + 1, instr(time, 'S') - instr(time, 'M') - 1) AS INTEGER) < 60
    THEN printf('%02d:%02d:%02d', CAST(substr(time, 3, instr(time, 'H') - 3) AS INTEGER), CAST(substr(time, instr(time, 'H') + 1, instr(time, 'M') - instr(time, 'H') - 1) AS INTEGER), CAST(substr(time, instr(time, 'M') + 1, instr(time, 'S') - instr(time, 'M') - 1) AS INTEGER))
    ELSE NULL
END
WHERE time IS NOT NULL
  AND NOT (time GLOB '[01][0-9]:[0-5][0-9]:[0-5][0-9]' OR time GLOB '2[0-3]:[0-5][0-9]:[0-5][0-9]');
