//! Hostile or mistyped input through the real `regie` binary: every bad file is refused with its
//! place and a normal error exit, never a panic or an abort.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{regie, temp_dir, write_csv_1252};

/// Runs `regie` and returns (exit code, stdout, stderr), checking it neither panicked nor aborted.
fn run(db: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_regie"))
        .arg("--db")
        .arg(db)
        .args(["--user", "test-comptable"])
        .args(args)
        .output()
        .expect("run regie");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    assert!(!stderr.contains("memory allocation"), "{args:?} aborted: {stderr}");
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
}

/// Runs `regie` expecting a clean refusal (exit code 1) whose message holds every one of `parts`.
fn refused(db: &Path, args: &[&str], parts: &[&str]) -> String {
    let (code, _, stderr) = run(db, args);
    assert_eq!(code, Some(1), "{args:?} must fail cleanly: {stderr}");
    for p in parts {
        assert!(stderr.contains(p), "{args:?}: « {p} » missing from: {stderr}");
    }
    stderr
}

#[test]
fn a_statement_amount_beyond_ten_million_is_refused_with_its_place() {
    let dir = temp_dir("huge-amount");
    let db = common::db_at(&dir, "r");
    let file = dir.join("releve.csv");
    std::fs::write(&file, "Date;Libellé;Montant\n05/09/2025;VIR A;10,00\n06/09/2025;VIR B;100000000000000000\n")
        .unwrap();
    refused(
        &db,
        &["statements", "import", file.to_str().unwrap()],
        &["releve.csv", "ligne 3", "Montant", "hors limites"],
    );
    std::fs::write(&file, "Date;Libellé;Montant\n06/09/2025;VIR B;-10 000 000,00\n").unwrap();
    refused(&db, &["statements", "import", file.to_str().unwrap()], &["ligne 2", "Montant"]);
}

/// A minimal xlsx workbook of one sheet, written part by part: `dimension` (if any) and raw
/// `<row>` XML, the way a crafted file would hold them.
fn write_raw_xlsx(path: &Path, dimension: Option<&str>, rows: &str) {
    use zip::write::SimpleFileOptions;
    let dimension = dimension.map(|d| format!(r#"<dimension ref="{d}"/>"#)).unwrap_or_default();
    let parts = [
        (
            "[Content_Types].xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#.to_string(),
        ),
        (
            "_rels/.rels",
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#.to_string(),
        ),
        (
            "xl/workbook.xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Relevé" sheetId="1" r:id="rId1"/></sheets></workbook>"#.to_string(),
        ),
        (
            "xl/_rels/workbook.xml.rels",
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#.to_string(),
        ),
        (
            "xl/worksheets/sheet1.xml",
            format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">{dimension}<sheetData>{rows}</sheetData></worksheet>"#
            ),
        ),
    ];
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, text) in parts {
        zip.start_file(name, stored).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    zip.finish().unwrap();
}

const STATEMENT_ROWS: &str = r#"<row r="1"><c r="A1" t="inlineStr"><is><t>Date</t></is></c><c r="B1" t="inlineStr"><is><t>Libellé</t></is></c><c r="C1" t="inlineStr"><is><t>Montant</t></is></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>05/09/2025</t></is></c><c r="B2" t="inlineStr"><is><t>VIR X</t></is></c><c r="C2"><v>10</v></c></row>"#;

#[test]
fn absurd_sheet_dimensions_and_junk_are_refused_cleanly() {
    let dir = temp_dir("absurd-xlsx");
    let db = common::db_at(&dir, "r");
    let far_cell = format!(r#"{STATEMENT_ROWS}<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>"#);
    let files = [
        ("coin.xlsx", Some("A1:XFD1048576"), far_cell.as_str()),
        ("cellule.xlsx", None, far_cell.as_str()),
        ("dimension.xlsx", Some("A1:XFD1048576"), STATEMENT_ROWS),
    ];
    for (name, dimension, rows) in files {
        let file = dir.join(name);
        write_raw_xlsx(&file, dimension, rows);
        assert!(std::fs::metadata(&file).unwrap().len() < 4096);
        for command in [&["statements", "import"][..], &["import-registrations"][..]] {
            let args: Vec<&str> = command.iter().copied().chain([file.to_str().unwrap()]).collect();
            refused(&db, &args, &[name, "feuille « Relevé »", "démesurée"]);
        }
    }

    // The same table without the far corner reads as usual.
    let fine = dir.join("releve.xlsx");
    write_raw_xlsx(&fine, Some("A1:C2"), STATEMENT_ROWS);
    let (code, stdout, stderr) = run(&db, &["statements", "import", fine.to_str().unwrap(), "--json"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("\"rows\": 1"), "{stdout}");

    let junk = dir.join("junk.xlsx");
    std::fs::write(&junk, (0..2048u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect::<Vec<_>>())
        .unwrap();
    refused(&db, &["statements", "import", junk.to_str().unwrap()], &["junk.xlsx", "illisible"]);
    refused(&db, &["import-registrations", junk.to_str().unwrap()], &["junk.xlsx", "illisible"]);
}

#[test]
fn an_ods_whose_repeats_unfold_to_billions_of_cells_is_refused_before_reading() {
    use zip::write::SimpleFileOptions;
    let dir = temp_dir("absurd-ods");
    let db = common::db_at(&dir, "r");
    let file = dir.join("releve.ods");
    let content = r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet><table:table table:name="Relevé"><table:table-row table:number-rows-repeated="1000000"><table:table-cell office:value-type="float" office:value="1" table:number-columns-repeated="90"><text:p>1</text:p></table:table-cell></table:table-row></table:table></office:spreadsheet></office:body></office:document-content>"#;
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&file).unwrap());
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("mimetype", stored).unwrap();
    zip.write_all(b"application/vnd.oasis.opendocument.spreadsheet").unwrap();
    zip.start_file("content.xml", stored).unwrap();
    zip.write_all(content.as_bytes()).unwrap();
    zip.finish().unwrap();
    refused(&db, &["statements", "import", file.to_str().unwrap()], &["releve.ods", "démesurée"]);
}

#[test]
fn a_registration_dated_2205_is_refused_at_its_cell_and_the_queue_still_loads() {
    let dir = temp_dir("far-date");
    let db = common::db_at(&dir, "r");
    let file = dir.join("inscriptions.csv");
    #[rustfmt::skip]
    let row = ["25000009", "Durand", "Léa", "lea@etu.uca.fr", "ISIMA", "ISIMA_1A", "1", "01", "3", "05/09/2205", "601", "non", "", ""];
    write_csv_1252(&file, &[row]);
    refused(&db, &["import-registrations", file.to_str().unwrap()], &["inscriptions.csv", "ligne 2", "Date demande"]);
    let (code, _, stderr) = run(&db, &["requests", "list", "--json"]);
    assert_eq!(code, Some(0), "{stderr}");

    let statement = dir.join("releve.csv");
    std::fs::write(&statement, "Date;Libellé;Montant\n05/09/2205;VIR X;10,00\n").unwrap();
    refused(&db, &["statements", "import", statement.to_str().unwrap()], &["ligne 2", "Date", "2000 à 2100"]);
}

#[test]
fn spreadsheet_numbers_keep_their_cents_and_refuse_fractions_of_one() {
    use rust_xlsxwriter::Workbook;
    let dir = temp_dir("xlsx-cents");
    let db = common::db_at(&dir, "r");
    let write = |path: &Path, amounts: &[f64]| {
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        for (c, h) in ["Date", "Libellé", "Montant"].iter().enumerate() {
            ws.write_string(0, c as u16, *h).unwrap();
        }
        for (r, a) in amounts.iter().enumerate() {
            let r = r as u32 + 1;
            ws.write_string(r, 0, format!("0{r}/09/2025")).unwrap();
            ws.write_string(r, 1, format!("VIR SEPA {r}")).unwrap();
            ws.write_number(r, 2, *a).unwrap();
        }
        wb.save(path).unwrap();
    };
    let bad = dir.join("centimes.xlsx");
    write(&bad, &[1630.5, 10.005]);
    refused(&db, &["statements", "import", bad.to_str().unwrap()], &["centimes.xlsx", "ligne 3", "Montant", "10.005"]);

    let good = dir.join("releve.xlsx");
    write(&good, &[1630.5]);
    let (code, _, stderr) = run(&db, &["statements", "import", good.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{stderr}");
    let lines = regie(&db, &["statements", "lines", "--json"]).json();
    assert_eq!(lines[0]["amount"], "1630.50");
}

#[test]
fn exported_letters_cannot_carry_spreadsheet_formulas() {
    let dir = temp_dir("csv-injection");
    let db = common::db_at(&dir, "r");
    let file = dir.join("inscriptions.csv");
    // The portal quotes a cell holding quotes, as any CSV writer does.
    #[rustfmt::skip]
    let row = ["25000010", "\"=HYPERLINK(\"\"http://x.example\"\")\"", "@SUM(A1)", "lea@etu.uca.fr", "ISIMA", "P2526_ISI_1A", "1", "01", "3", "05/09/2025", "", "non", "", ""];
    write_csv_1252(&file, &[row]);
    regie(&db, &["import-registrations", file.to_str().unwrap(), "--json"]).json();
    let id = regie(&db, &["requests", "list", "--json"]).json()[0]["id"].as_i64().unwrap().to_string();
    regie(&db, &["requests", "reject", &id, "--reason=-2+3 pièces manquantes", "--json"]).json();
    let out = dir.join("lettres.csv");
    regie(&db, &["requests", "export", "--out", out.to_str().unwrap(), "--json"]).json();

    let text = std::fs::read_to_string(&out).unwrap();
    let mut reader =
        csv::ReaderBuilder::new().delimiter(b';').from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let record = reader.records().next().unwrap().unwrap();
    assert_eq!(&record[2], "'=HYPERLINK(\"http://x.example\")");
    assert_eq!(&record[3], "'@SUM(A1)");
    assert_eq!(&record[9], "'-2+3 pièces manquantes");
    for cell in &record {
        assert!(!cell.starts_with(['=', '+', '-', '@', '\t', '\r']), "live formula cell {cell:?}");
    }
}

#[test]
fn a_column_mapping_is_read_from_row_one_and_checked_before_use() {
    let dir = temp_dir("mapping");
    let db = common::db_at(&dir, "r");
    let file = dir.join("releve.csv");
    std::fs::write(&file, "Jour;Texte;Valeur\n05/09/2025;VIR X;10,00\n").unwrap();
    let import = |map: &str| -> Vec<String> {
        ["statements", "import", file.to_str().unwrap(), "--map", map].iter().map(|s| s.to_string()).collect()
    };
    let args = import("header=0,date=A,label=B,amount=C");
    refused(&db, &args.iter().map(String::as_str).collect::<Vec<_>>(), &["invalid_input", "à partir de 1"]);
    let args = import("header=1,date=A,label=B,amount=F");
    refused(&db, &args.iter().map(String::as_str).collect::<Vec<_>>(), &["releve.csv", "colonne F au-delà"]);
    let args = import("header=1,date=A,label=A,amount=C");
    refused(&db, &args.iter().map(String::as_str).collect::<Vec<_>>(), &["sert deux fois"]);
    let args = import("header=1,date=A,label=2,amount=C");
    let (code, _, stderr) = run(&db, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn a_closed_pipe_ends_the_command_quietly() {
    let dir = temp_dir("broken-pipe");
    let db = common::db_at(&dir, "r");
    let (code, _, stderr) = run(&db, &["demo", "--students", "300"]);
    assert_eq!(code, Some(0), "{stderr}");
    for args in [&["students", "list"][..], &["students", "list", "--json"][..]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_regie"))
            .arg("--db")
            .arg(&db)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away before a byte is read, as `regie … | head -0` does.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        assert!(stderr.is_empty(), "{stderr}");
    }
}

#[test]
fn csv_files_beyond_their_limits_are_refused_before_they_fill_memory() {
    let dir = temp_dir("absurd-csv");
    let db = common::db_at(&dir, "r");
    // A file of 300 MB (sparse: nothing written) says its size before it is read.
    let big = dir.join("releve.csv");
    std::fs::File::create(&big).unwrap().set_len(300 << 20).unwrap();
    for command in [&["statements", "import"][..], &["card", "import"], &["import-registrations"]] {
        let args: Vec<&str> = command.iter().copied().chain([big.to_str().unwrap()]).collect();
        refused(
            &db,
            &args,
            &["releve.csv", "fichier de 300 Mo, au-delà des 200 Mo acceptés", "→ Vérifiez que c'est le bon fichier"],
        );
    }
    // An endless one says nothing: reading stops one byte past the limit.
    let endless = dir.join("paybox.csv");
    std::os::unix::fs::symlink("/dev/zero", &endless).unwrap();
    refused(&db, &["card", "import", endless.to_str().unwrap()], &["paybox.csv", "fichier de plus de 200 Mo"]);

    // A line of 1,501 fields, past column ALL.
    let wide = dir.join("large.csv");
    std::fs::write(&wide, format!("Date;Libellé;Montant\n05/09/2025;VIR A;10,00\n{}\n", ";".repeat(1_500))).unwrap();
    refused(
        &db,
        &["statements", "import", wide.to_str().unwrap()],
        &[
            "large.csv",
            "ligne 3",
            "démesuré",
            "1501 champs, au-delà de la colonne ALL",
            "→ Corrigez la cellule indiquée",
        ],
    );
    // More lines than any spreadsheet holds.
    let long = dir.join("long.csv");
    std::fs::write(&long, "Date;Libellé;Montant\n".to_string() + &"05/09/2025;VIR;1\n".repeat(1 << 20)).unwrap();
    refused(
        &db,
        &["statements", "import", long.to_str().unwrap()],
        &["long.csv", "ligne 1048577", "plus de 1048576 lignes"],
    );

    // Nothing was imported, and a file within the limits still is.
    let (_, lines, _) = run(&db, &["statements", "lines", "--json"]);
    assert_eq!(lines.trim(), "[]");
    std::fs::write(&big, "Date;Libellé;Montant\n05/09/2025;VIR A;10,00\n").unwrap();
    let (code, stdout, stderr) = run(&db, &["statements", "import", big.to_str().unwrap(), "--json"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("\"rows\": 1"), "{stdout}");
}

#[test]
fn a_workbook_whose_parts_unfold_beyond_their_limits_is_refused_before_reading() {
    use zip::write::SimpleFileOptions;
    let dir = temp_dir("zip-bomb");
    let db = common::db_at(&dir, "r");
    let file = dir.join("releve.xlsx");
    write_raw_xlsx(&file, Some("A1:C2"), STATEMENT_ROWS);
    // 140 MB of shared strings, deflated to a fraction of a megabyte: calamine reads them whole
    // when it opens the file.
    let mut zip =
        zip::ZipWriter::new_append(std::fs::OpenOptions::new().read(true).write(true).open(&file).unwrap()).unwrap();
    zip.start_file("xl/sharedStrings.xml", SimpleFileOptions::default().large_file(true)).unwrap();
    let strings = "<si><t>a</t></si>".repeat(1 << 16);
    for _ in 0..(141 << 20) / strings.len() {
        zip.write_all(strings.as_bytes()).unwrap();
    }
    zip.finish().unwrap();
    assert!(std::fs::metadata(&file).unwrap().len() < 2 << 20);
    for command in [&["statements", "import"][..], &["card", "import"], &["import-registrations"]] {
        let args: Vec<&str> = command.iter().copied().chain([file.to_str().unwrap()]).collect();
        refused(
            &db,
            &args,
            &["releve.xlsx", "classeur démesuré", "« xl/sharedStrings.xml » se déplie en 140 Mo", "128 Mo acceptés"],
        );
    }
}
