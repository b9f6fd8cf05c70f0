import Foundation

/// The most common passwords, from public breach-derived lists (lower-cased). A password that is
/// one of these, or one of these followed by digits and punctuation ("password2026!"), is the
/// first thing any guesser tries, whatever its length.
enum CommonPasswords {
    static let list: Set<String> = [
        "123456", "password", "12345678", "qwerty", "123456789", "12345", "1234", "111111", "1234567", "dragon", "123123",
        "baseball", "abc123", "football", "monkey", "letmein", "696969", "shadow", "master", "666666", "qwertyuiop", "123321",
        "mustang", "1234567890", "michael", "654321", "superman", "1qaz2wsx", "7777777", "121212", "000000", "qazwsx", "123qwe",
        "killer", "trustno1", "jordan", "jennifer", "zxcvbnm", "asdfgh", "hunter", "buster", "soccer", "harley", "batman",
        "andrew", "tigger", "sunshine", "iloveyou", "2000", "charlie", "robert", "thomas", "hockey", "ranger", "daniel",
        "starwars", "klaster", "112233", "george", "computer", "michelle", "jessica", "pepper", "1111", "zxcvbn", "555555",
        "11111111", "131313", "freedom", "777777", "pass", "maggie", "159753", "aaaaaa", "ginger", "princess", "joshua",
        "cheese", "amanda", "summer", "love", "ashley", "nicole", "chelsea", "biteme", "matthew", "access", "yankees",
        "987654321", "dallas", "austin", "thunder", "taylor", "matrix", "mobilemail", "mom", "monitor", "monitoring", "montana",
        "moon", "moscow", "william", "corvette", "hello", "martin", "heather", "secret", "merlin", "diamond", "1234qwer",
        "gfhjkm", "hammer", "silver", "222222", "88888888", "anthony", "justin", "test", "bailey", "q1w2e3r4t5", "patrick",
        "internet", "scooter", "orange", "11111", "golfer", "cookie", "richard", "samantha", "bigdog", "guitar", "jackson",
        "whatever", "mickey", "chicken", "sparky", "snoopy", "maverick", "phoenix", "camaro", "peanut", "morgan", "welcome",
        "falcon", "cowboy", "ferrari", "samsung", "andrea", "smokey", "steelers", "joseph", "mercedes", "dakota", "arsenal",
        "eagles", "melissa", "boomer", "booboo", "spider", "nascar", "monster", "tigers", "yellow", "xxxxxx", "123123123",
        "gateway", "marina", "diablo", "bulldog", "qwer1234", "compaq", "purple", "banana", "junior", "hannah",
        "123654", "porsche", "lakers", "iceman", "money", "cowboys", "987654", "london", "tennis", "999999", "ncc1701", "coffee",
        "scooby", "0000", "miller", "boston", "q1w2e3r4", "brandon", "yamaha", "chester", "mother", "forever", "johnny",
        "edward", "333333", "oliver", "redsox", "player", "nikita", "knight", "fender", "barney", "midnight", "please", "brandy",
        "chicago", "badboy", "slayer", "rangers", "charles", "angel", "flower", "bigdaddy", "rabbit", "wizard", "jasper",
        "enter", "rachel", "chris", "steven", "winner", "adidas", "victoria", "natasha", "1q2w3e4r", "jasmine", "winter",
        "prince", "marine", "ghbdtn", "fishing", "cocacola", "casper", "james", "232323", "raiders", "888888",
        "marlboro", "gandalf", "asdfasdf", "crystal", "87654321", "12344321", "golden", "8675309", "apple", "friends", "123abc",
        "passw0rd", "password1", "password12", "password123", "password1234", "password12345", "password123456", "password2024",
        "password2025", "password2026", "password!", "passwordpassword", "p@ssw0rd", "p@ssword", "p4ssw0rd", "pa55word",
        "pa55w0rd", "passwort", "motdepasse", "contraseña", "wachtwoord", "haslo", "salasana", "qwerty123", "qwerty1234",
        "qwerty12345", "qwerty123456", "qwertyuiop123", "qwertyui", "qwertyu", "qwertz", "qwertzuiop", "azerty", "azertyuiop",
        "1q2w3e4r5t", "1q2w3e4r5t6y", "1q2w3e4r5t6y7u", "1qaz2wsx3edc", "1qazxsw2", "zaq12wsx", "zaq1zaq1", "zaq1xsw2",
        "q1w2e3r4t5y6", "qazwsxedc", "qazwsxedcrfv", "asdfghjkl", "asdfghjkl1", "zxcvbnm123", "asdf1234", "1234asdf", "zxcv1234",
        "abcd1234", "abc12345", "abc123456", "abcdef", "abcdefg", "abcdefgh", "abcdefghij", "abcdefghijk", "0123456789",
        "01234567890", "9876543210", "1234554321", "1234512345", "12345678910", "123456789a", "123456789q", "123456789z",
        "1234567890a", "1234567891", "123456654321", "123123123123", "123321123", "147258369", "159357", "147258", "741852963",
        "963852741", "321654987", "789456123", "1111111111", "0000000000", "2222222222", "5555555555", "7777777777",
        "8888888888", "9999999999", "1212121212", "1231231231", "1122334455", "11223344", "aaaaaaaaaa", "iloveyou1",
        "iloveyou12", "iloveyou123", "iloveyou2", "iloveu", "iloveyouforever", "loveyou", "lovely", "loveme", "lover",
        "welcome1", "welcome123", "welcome12", "welcome2024", "welcome2025", "welcome2026", "letmein1", "letmein123",
        "letmein12", "changeme", "changeme123", "changeit", "administrator", "admin", "admin123", "admin1234", "admin12345",
        "adminadmin", "administrator1", "root", "toor", "rootroot", "superuser", "supervisor", "default", "guest", "guest123",
        "user", "user123", "test123", "test1234", "testtest", "testing", "testing123", "demo", "demo123", "sample", "temp",
        "temp123", "football1", "football123", "baseball1", "baseball123", "basketball", "basketball1", "soccer123", "hockey123",
        "volleyball", "skateboard", "superman123", "batman123", "spiderman", "ironman", "starwars1", "pokemon", "pokemon123",
        "minecraft", "fortnite", "roblox", "naruto", "michael1", "michael123", "jennifer1", "jessica1", "ashley123",
        "charlie123", "daniel123", "robert123", "thomas123", "jordan23", "jordan123", "princess1", "princess123", "sunshine1",
        "sunshine123", "shadow123", "master123", "monkey123", "dragon123", "killer123", "trustno1234", "hunter123", "hunter2",
        "123qweasd", "123qweasdzxc", "qweasdzxc", "qweasd", "qwe123", "qwe123456", "1qaz!qaz", "1qaz@wsx", "!qaz2wsx",
        "!qaz1qaz", "qwerty!", "qwerty1!", "password1!", "summer2024", "summer2025", "summer2026", "winter2024", "winter2025",
        "winter2026", "spring2025", "spring2026", "autumn2025", "autumn2026", "january", "february", "march", "april", "august",
        "september", "october", "november", "december", "monday", "friday", "fitness", "fitness123", "fitness2026", "gym123",
        "gympassword", "gymmembership", "workout", "workout123", "bodybuilding", "crossfit", "crossfit123", "healthy",
        "strength", "strong123", "muscle", "muscles", "training", "training123", "exercise", "cardio", "yoga123", "pilates",
        "personaltrainer", "frontdesk", "frontdesk1", "frontdesk123", "reception", "reception1", "reception123", "manager",
        "manager1", "manager123", "owner123", "staff123", "boogyman", "boogyman1", "boogyman123", "kisi123", "kisipassword",
        "doorlock", "opensesame", "letmein2", "getmein", "comein", "123456a", "123456aa", "12345a", "a123456", "a12345678",
        "aa123456", "aa12345678", "a1b2c3d4", "a1b2c3d4e5", "1a2b3c4d", "1a2b3c4d5e", "q1q1q1q1", "zxc123", "qq123456",
        "123456qq", "5201314", "woaini1314", "1314520", "woaini", "31415926", "3141592653", "asdasd", "asdasdasd", "qweqwe",
        "qweqweqwe", "zxczxc", "google", "google123", "facebook", "linkedin", "twitter", "youtube", "microsoft", "apple123",
        "samsung123", "iphone", "android", "netflix", "secret123", "secret1", "mysecret", "trustme", "believe", "freedom1",
        "freedom123", "liberty", "america", "usa123", "england", "scotland", "ireland", "canada", "computer1", "computer123",
        "internet1", "whatever1", "nothing", "something", "anything", "everything", "private", "security", "security1",
    ]

    /// True for a listed password, case-insensitively, with or without a tail of digits and symbols.
    static func contains(_ password: String) -> Bool {
        let lowered = password.lowercased()
        if list.contains(lowered) { return true }
        let base = String(lowered.reversed().drop { $0.isNumber || ($0.isPunctuation || $0.isSymbol) }.reversed())
        if base.count >= 4, base != lowered, list.contains(base) { return true }
        // One character over and over ("aaaaaaaaaaaa"), or "123412341234": a repeated short unit.
        for unit in 1...4 where lowered.count >= unit * 2 && lowered.count % unit == 0 {
            let head = lowered.prefix(unit)
            if String(repeating: String(head), count: lowered.count / unit) == lowered { return true }
        }
        return false
    }
}
