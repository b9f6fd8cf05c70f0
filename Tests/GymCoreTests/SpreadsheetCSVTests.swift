import Foundation
import GymCore
import Testing

@Suite("Spreadsheet CSV")
struct SpreadsheetCSVTests {
    @Test("The separator is the header row's most frequent of comma, semicolon and tab, quotes aside", arguments: [
        ("first_name,last_name,email\n", ","),
        ("first_name;last_name;email\r\n", ";"),
        ("first_name\tlast_name\temail\n", "\t"),
        ("\"Name, first\";\"Name, last\";email\n", ";"),
        ("email\n", ","),
    ] as [(String, Character)])
    func separator(text: String, expected: Character) {
        #expect(SpreadsheetCSV.detectSeparator(text) == expected)
    }

    @Test("A tab-separated export with quoted line breaks keeps its line numbers")
    func tabsAndLineBreaks() {
        let table = SpreadsheetCSV.table("a\tb\n\"x\ny\"\tz\n\nlast\tone\n")
        #expect(table.separatorName == "tab")
        #expect(table.records.map(\.line) == [1, 2, 4, 5])
        #expect(table.records[1].fields == ["x\ny", "z"])
    }

    @Test("Bytes that are not UTF-8 are read in the Windows code page whose letters fit; a tie is Windows-1252")
    func codePages() {
        // Polish "Łukasz Żółw" in Windows-1250: Ł 0xA3 and Ż 0xAF are £ and ¯ in Windows-1252.
        let polish = Data([0xA3] + Array("ukasz ".utf8) + [0xAF, 0xF3, 0xB3, 0x77])
        #expect(SpreadsheetCSV.decode(polish) == ("Łukasz Żółw", .windows1250))
        // French "Hélène": é is the same in both, è (0xE8) is č in 1250; nothing decides, so 1252.
        let french = Data(Array("H".utf8) + [0xE9] + Array("l".utf8) + [0xE8] + Array("ne".utf8))
        #expect(SpreadsheetCSV.decode(french) == ("Hélène", .windows1252))
        #expect(SpreadsheetCSV.decode(Data("Ştefan".utf8)) == ("Ştefan", .utf8))
        #expect(SpreadsheetCSV.decode(Data([0xEF, 0xBB, 0xBF] + Array("Ana".utf8))) == ("Ana", .utf8WithBOM))
        #expect(SpreadsheetCSV.decode(french, forced: .windows1250).text == "Hélčne")
    }

    @Test("Header spellings meet their columns whatever the case, spaces, underscores, hyphens and dots; unknown ones are named")
    func headers() throws {
        let map = try SubscriptionCSV.parse("E-Mail Address,FIRST_NAME,Surname,Paid thru,Valid From,plan\n").columns
        #expect(map.indexes == ["email": 0, "first_name": 1, "last_name": 2, "paid_through": 3, "start_date": 4, "plan": 5])
        #expect(map.summary == "E-Mail Address → email, FIRST_NAME → first_name, Surname → last_name, Paid thru → paid_through, Valid From → start_date, plan")
        #expect(throws: SpreadsheetCSV.HeaderProblem(message:
            #"missing column(s) last_name; unknown column(s) "Birthday"; expected first_name, last_name, email, phone, notes, plan, start_date, end_date, paid_through, freeze_start, freeze_end, freeze_reason, cancellation_date, cancellation_reason"#)) {
            try SubscriptionCSV.parse("first_name,email,Birthday\n")
        }
    }

    @Test("Dates are ISO or day first with dots; slashes and impossible days are refused", arguments: [
        ("2026-03-01", "2026-03-01"), ("01.03.2026", "2026-03-01"), ("1.3.2026", "2026-03-01"), (" 31.12.2026 ", "2026-12-31"),
        ("03/01/2026", nil), ("30.02.2026", nil), ("1.3.26", nil), ("2026.03.01", nil),
    ] as [(String, String?)])
    func dates(text: String, expected: String?) {
        #expect(SpreadsheetCSV.date(text)?.description == expected)
    }

    @Test("Rows say what is missing for a subscription: a start, a paid-through date without an end, both freeze dates")
    func rowChecks() throws {
        let parsed = try SubscriptionCSV.parse("""
            first_name,last_name,email,plan,start_date,end_date,paid_through,freeze_start,freeze_end
            Ana,Pop,a@example.com,Gold,,,2026-12-31,,
            Ion,Pop,i@example.com,Gold,2026-01-01,,,,
            Eva,Pop,e@example.com,Gold,2026-01-01,2026-06-30,,2026-02-01,
            Dan,Pop,d@example.com,,2026-01-01,,,,
            Radu,Pop,r@example.com,Gold,2026-01-01,2026-06-30,,,

            """)
        #expect(parsed.problems.map(\.line) == [2, 3, 4, 5])
        #expect(parsed.problems[0].message.contains("start_date is required"))
        #expect(parsed.problems[1].message.contains("paid_through is required"))
        #expect(parsed.problems[2].message.contains("both freeze_start and freeze_end"))
        #expect(parsed.problems[3].message.contains("plan is empty"))
        #expect(parsed.rows.map(\.paidThrough?.description) == ["2026-06-30"], "a fixed term is paid to its end")
    }
}
