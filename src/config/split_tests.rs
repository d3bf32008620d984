//! A file cut at its `[[check]]` headers validates as the whole file does: the same config, the
//! same problems at the same places, and the whole file's syntax errors when a piece has one.

use crate::config::test_support::{check, http_spec, parse, valid};
use crate::config::{Error, ProbeSpec};

const TCP: &str = "type = \"tcp\"\nhost = \"h\"\nport = 1\n";

#[test]
fn sub_tables_of_a_check_stay_with_it() {
    let c = valid(&format!(
        "[server]\ntitle = \"t\"\n\n[[check]]\nid = \"web\"\ntype = \"http\"\n\
         url = \"https://example.org/\"\n[check.headers]\nX-A = \"1\"\n\
         [check.basic_auth]\nusername = \"u\"\npassword = \"${{TOKEN}}\"\n\n\
         [[check]]\nid = \"db\"\n{TCP}\n[[maintenance]]\ntitle = \"m\"\ncron = \"0 3 * * sun\"\n\
         duration = \"1h\"\nchecks = [\"db\"]\n"
    ));
    assert_eq!(c.server.title, "t");
    let ids: Vec<&str> = c.checks.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["web", "db"]);
    let http = http_spec(&c.checks[0]);
    let names: Vec<&str> = http.headers.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"x-a"), "{names:?}");
    assert!(names.contains(&"authorization"), "{names:?}");
    assert!(matches!(&c.checks[1].spec, ProbeSpec::Tcp(s) if s.port == 1));
    assert_eq!(c.maintenance.len(), 1);
}

#[test]
fn a_syntax_error_in_a_check_reports_the_whole_files_syntax_errors() {
    check(
        "[server]\ntitle = \"t\"\n[[check]]\nid = \"a\"\ntype = = \"tcp\"\n[[check]]\nid = 5 6\n",
        &[
            "etc/watchpost.toml:5:8: extra `=`, expected nothing",
            "etc/watchpost.toml:5:10: unexpected key or value, expected newline, `#`",
            "etc/watchpost.toml:7:6: string values must be quoted, expected literal string",
        ],
    );
}

#[test]
fn a_check_key_beside_the_headers_is_the_whole_files_error() {
    let Err(Error::Invalid(problems)) = parse(&format!("check = 1\n[[check]]\nid = \"a\"\n{TCP}"))
    else {
        panic!("expected problems");
    };
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].line, 2, "{problems:?}");
}

#[test]
fn problems_in_checks_after_other_sections_keep_their_places() {
    check(
        &format!(
            "[[check]]\nid = \"a\"\n{TCP}\n[[notify]]\nname = \"n\"\ntype = \"webhook\"\nurl = \"https://e.org/\"\n\
             checks = [\"a\", \"b\", \"zz\"]\n\n[[check]]\nid = \"b\"\ntype = \"tcp\"\nhost = \"h\"\n\
             port = 0\n"
        ),
        &[
            r#"etc/watchpost.toml:11:21: notify "n": checks: there is no check with id "zz""#,
            r#"etc/watchpost.toml:17:8: check "b": port must be between 1 and 65535"#,
        ],
    );
}
