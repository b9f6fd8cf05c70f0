import GymApp
import GymCore
import Testing

@Suite("Member CSV")
struct MemberCSVTests {
    @Test("Columns may come in any order and quoted fields keep commas, quotes and line breaks")
    func parsesQuotedFields() throws {
        let text = """
            Email,First_Name,last_name,notes
            ana@example.com,Ana,Popescu,"Likes ""early"" classes, weekdays"
            ion@example.com,Ion,Ionescu,"Two
            lines"
            maria@example.com,Maria,Pop,

            """
        let parsed = try MemberCSV.parse(text)
        #expect(parsed.problems.isEmpty)
        #expect(parsed.rows.map(\.line) == [2, 3, 5])
        #expect(parsed.rows[0].draft == MemberDraft(firstName: "Ana", lastName: "Popescu", email: "ana@example.com", notes: #"Likes "early" classes, weekdays"#))
        #expect(parsed.rows[1].draft.notes == "Two\nlines")
        #expect(parsed.rows[2].draft.notes == "")
    }

    @Test("Windows line endings and a byte-order mark are accepted")
    func windowsFiles() throws {
        let parsed = try MemberCSV.parse("\u{FEFF}first_name,last_name,email\r\nAna,Pop,ana@example.com\r\n")
        #expect(parsed.rows.map(\.draft.email) == ["ana@example.com"])
    }

    @Test("Rows that do not parse are reported with their line numbers", arguments: [
        ("first_name,last_name,email\nAna,Pop\n", 2, "has 2 field(s)"),
        ("first_name,last_name,email\nAna,Pop,a@example.com\nIon,I\"on,i@example.com\n", 3, "quote"),
        ("first_name,last_name,email\nAna,Pop,a@example.com\n\nIon,Ion,\"i@example.com\n", 4, "never closed"),
        ("first_name,last_name,email\nA,B,c@example.com,extra\n", 2, "has 4 field(s)"),
    ])
    func unparseableRows(text: String, line: Int, message: String) throws {
        let parsed = try MemberCSV.parse(text)
        #expect(parsed.problems.map(\.line) == [line])
        #expect(parsed.problems.first?.message.contains(message) == true, "\(parsed.problems)")
    }

    @Test("A header without the required columns, or with unknown ones, rejects the whole file", arguments: [
        "", "first_name,last_name\nAna,Pop\n", "first_name,last_name,email,age\n", "first_name,last_name,email,email\n",
    ])
    func badHeader(text: String) {
        #expect(throws: MemberCSV.ParseError.self) { try MemberCSV.parse(text) }
    }
}
