//! The model of identity on generated sequences of edits, each followed (or not) by a deploy:
//! renames of a file's environment or of the file, a Region move, copies up and down, targets
//! added, removed and moved, a target split into a file of its own and merged back, owners
//! changed, and teardowns by the addresses qfleet prints. After every step, the invariants
//! of [`World`] are checked on the directory as [`crate::config::declared`] reads it and on
//! the stacks as their marks ([`crate::ownership::marks`]) say.

use super::*;
use crate::aws::StackState;
use aws_sdk_cloudformation::types::StackStatus;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

const REGIONS: [&str; 3] = ["eu-west-1", "us-east-1", "us-west-2"];
/// The credentials' own account, and another one a target names.
const OWN: &str = "111111111111";
const OTHER: &str = "222222222222";
const ENVS: [&str; 3] = ["alpha", "beta", "gamma"];
const STEMS: [&str; 3] = ["fa", "fb", "fc"];
const TARGETS: [&str; 3] = ["t1", "t2", "t3"];
const OWNERS: [Option<&str>; 3] = [None, Some("red"), Some("blue")];

#[derive(Clone, Debug, PartialEq)]
struct Target {
    name: String,
    region: usize,
    other_account: bool,
}

#[derive(Clone, Debug)]
struct File {
    stem: String,
    environment: Option<String>,
    region: usize,
    other_account: bool,
    owner: Option<&'static str>,
    copies: Option<u32>,
    targets: Vec<Target>,
}

impl File {
    fn name(&self) -> String {
        format!("{}.yaml", self.stem)
    }

    fn base(&self) -> &str {
        self.environment.as_deref().unwrap_or(&self.stem)
    }

    fn text(&self) -> String {
        let mut t = format!("region: {}\nlab: true\n", REGIONS[self.region]);
        if let Some(e) = &self.environment {
            t.push_str(&format!("environment: {e}\n"));
        }
        if let Some(o) = self.owner {
            t.push_str(&format!("owner: {o}\n"));
        }
        if self.other_account {
            t.push_str(&format!("accounts: ['{OTHER}']\n"));
        }
        if self.targets.is_empty() {
            if let Some(c) = self.copies {
                t.push_str(&format!("copies: {c}\n"));
            }
            return t;
        }
        if self.targets.iter().any(|x| x.other_account) {
            t.push_str("deploy_role: qfleet-deployer\n");
        }
        t.push_str("targets:\n");
        for x in &self.targets {
            t.push_str(&format!(
                "  - name: {}\n    region: {}\n",
                x.name, REGIONS[x.region]
            ));
            if x.other_account {
                t.push_str(&format!("    account: '{OTHER}'\n"));
            }
        }
        t
    }
}

#[derive(Clone, Debug)]
enum Edit {
    RenameEnvironment(usize, usize),
    RenameFile(usize, usize),
    MoveRegion(usize, usize),
    Copies(usize, Option<u32>),
    AddTarget(usize, usize, usize, bool),
    RemoveTarget(usize, usize),
    MoveTarget(usize, usize, usize, bool),
    Split(usize, usize),
    SplitCopy(usize),
    Merge(usize),
    Owner(usize, usize),
    Deploy(usize),
    TeardownRetired(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 0..ENVS.len()).prop_map(|(f, e)| Edit::RenameEnvironment(f, e)),
        (any::<usize>(), 0..STEMS.len()).prop_map(|(f, s)| Edit::RenameFile(f, s)),
        (any::<usize>(), 0..REGIONS.len()).prop_map(|(f, r)| Edit::MoveRegion(f, r)),
        (any::<usize>(), prop::option::of(1..5u32)).prop_map(|(f, n)| Edit::Copies(f, n)),
        (
            any::<usize>(),
            0..TARGETS.len(),
            0..REGIONS.len(),
            any::<bool>()
        )
            .prop_map(|(f, t, r, a)| Edit::AddTarget(f, t, r, a)),
        (any::<usize>(), any::<usize>()).prop_map(|(f, t)| Edit::RemoveTarget(f, t)),
        (
            any::<usize>(),
            any::<usize>(),
            0..REGIONS.len(),
            any::<bool>()
        )
            .prop_map(|(f, t, r, a)| Edit::MoveTarget(f, t, r, a)),
        (any::<usize>(), any::<usize>()).prop_map(|(f, t)| Edit::Split(f, t)),
        any::<usize>().prop_map(Edit::SplitCopy),
        any::<usize>().prop_map(Edit::Merge),
        (any::<usize>(), 0..OWNERS.len()).prop_map(|(f, o)| Edit::Owner(f, o)),
        // Deploys and teardowns as often as edits.
        any::<usize>().prop_map(Edit::Deploy),
        any::<usize>().prop_map(Edit::Deploy),
        any::<usize>().prop_map(Edit::Deploy),
        any::<usize>().prop_map(Edit::TeardownRetired),
    ]
}

fn start() -> impl Strategy<Value = Vec<File>> {
    let file = (
        0..STEMS.len(),
        prop::option::of(0..ENVS.len()),
        0..REGIONS.len(),
        0..OWNERS.len(),
        prop::option::of(1..4u32),
        prop::collection::vec((0..TARGETS.len(), 0..REGIONS.len(), any::<bool>()), 0..3),
    )
        .prop_map(|(s, e, r, o, copies, targets)| {
            let mut f = File {
                stem: STEMS[s].to_string(),
                environment: e.map(|e| ENVS[e].to_string()),
                region: r,
                other_account: false,
                owner: OWNERS[o],
                copies,
                targets: Vec::new(),
            };
            for (t, r, a) in targets {
                add_target(&mut f, t, r, a);
            }
            f
        });
    prop::collection::vec(file, 1..3).prop_map(|mut files| {
        let mut seen = BTreeSet::new();
        files.retain(|f| seen.insert(f.stem.clone()));
        files
    })
}

fn add_target(f: &mut File, t: usize, region: usize, other_account: bool) {
    if f.other_account || f.targets.iter().any(|x| x.name == TARGETS[t]) {
        return;
    }
    f.targets.push(Target {
        name: TARGETS[t].to_string(),
        region,
        other_account,
    });
}

/// The stacks of the simulated account(s): each environment's data stack by its key, with
/// its tags.
type Aws = BTreeMap<Key, BTreeMap<String, String>>;

struct Run {
    dir: tempfile::TempDir,
    files: Vec<File>,
    aws: Aws,
    /// What went on, for a failing case's message.
    log: Vec<String>,
}

impl Run {
    fn write(&self) {
        for entry in std::fs::read_dir(self.dir.path()).unwrap().flatten() {
            std::fs::remove_file(entry.path()).unwrap();
        }
        for f in &self.files {
            std::fs::write(self.dir.path().join(f.name()), f.text()).unwrap();
        }
    }

    fn path(&self, f: &File) -> std::path::PathBuf {
        self.dir.path().join(f.name())
    }

    /// The world as the search builds it: every file of the directory read alone, every
    /// data stack's marks.
    fn world(&self) -> World {
        let mut making = Vec::new();
        let mut files = Vec::new();
        let mut unreadable = Vec::new();
        for f in &self.files {
            let path = self.path(f);
            match crate::config::declared(&path, &f.text()) {
                Ok(makes) => {
                    let (of, list) = file_of(&path, makes, Some(OWN));
                    files.push(of);
                    making.extend(list);
                }
                Err(why) => unreadable.push(Unreadable { path, why }),
            }
        }
        let marked = self
            .aws
            .iter()
            .map(|(key, tags)| {
                let mut state = StackState::new(
                    &format!("qfleet-{}-data", key.name),
                    StackStatus::CreateComplete,
                );
                state.tags = tags.clone();
                let mut made = Made::of(&state, &[]).expect("every stack here is marked");
                made.account = key.account.clone();
                Marked {
                    key: key.clone(),
                    made,
                }
            })
            .collect();
        World::new(making, marked, files, unreadable)
    }

    fn apply(&mut self, e: &Edit) {
        let n = self.files.len();
        let pick = |i: usize| i % n.max(1);
        self.log.push(format!("{e:?}"));
        match *e {
            Edit::RenameEnvironment(f, to) if n > 0 => {
                self.files[pick(f)].environment = Some(ENVS[to].to_string())
            }
            Edit::RenameFile(f, to) if n > 0 => {
                let to = STEMS[to].to_string();
                if !self.files.iter().any(|x| x.stem == to) {
                    let f = &mut self.files[pick(f)];
                    // Its environment's name is kept: the file declares it where it did not.
                    if f.environment.is_none() {
                        f.environment = Some(f.stem.clone());
                    }
                    f.stem = to;
                }
            }
            Edit::MoveRegion(f, r) if n > 0 => self.files[pick(f)].region = r,
            Edit::Copies(f, c) if n > 0 => self.files[pick(f)].copies = c,
            Edit::AddTarget(f, t, r, a) if n > 0 => {
                let i = pick(f);
                add_target(&mut self.files[i], t, r, a)
            }
            Edit::RemoveTarget(f, t) if n > 0 => {
                let f = &mut self.files[pick(f)];
                if !f.targets.is_empty() {
                    let t = t % f.targets.len();
                    f.targets.remove(t);
                }
            }
            Edit::MoveTarget(f, t, r, a) if n > 0 => {
                let f = &mut self.files[pick(f)];
                if !f.targets.is_empty() {
                    let t = t % f.targets.len();
                    f.targets[t].region = r;
                    f.targets[t].other_account = a;
                }
            }
            Edit::Split(f, t) if n > 0 => {
                let i = pick(f);
                if self.files[i].targets.is_empty() {
                    return;
                }
                let t = t % self.files[i].targets.len();
                let target = self.files[i].targets.remove(t);
                let stem = format!("{}-{}", self.files[i].base(), target.name);
                if self.files.iter().any(|x| x.stem == stem) {
                    return;
                }
                let owner = self.files[i].owner;
                self.files.push(File {
                    stem,
                    environment: None,
                    region: target.region,
                    other_account: target.other_account,
                    owner,
                    copies: None,
                    targets: Vec::new(),
                });
            }
            Edit::SplitCopy(f) if n > 0 => {
                let i = pick(f);
                let Some(c) = self.files[i].copies.filter(|c| *c > 1) else {
                    return;
                };
                if !self.files[i].targets.is_empty() {
                    return;
                }
                let stem = crate::config::copy_names(self.files[i].base(), c)
                    .pop()
                    .unwrap();
                if self.files.iter().any(|x| x.stem == stem) {
                    return;
                }
                self.files[i].copies = Some(c - 1);
                let (region, owner) = (self.files[i].region, self.files[i].owner);
                self.files.push(File {
                    stem,
                    environment: None,
                    region,
                    other_account: self.files[i].other_account,
                    owner,
                    copies: None,
                    targets: Vec::new(),
                });
            }
            Edit::Merge(f) if n > 1 => {
                // A file of one environment `BASE-T` merged back into the file of `BASE`.
                let i = pick(f);
                let one = self.files[i].clone();
                if one.copies.is_some() || !one.targets.is_empty() || one.environment.is_some() {
                    return;
                }
                let Some((base, t)) = one.stem.rsplit_once('-') else {
                    return;
                };
                let Some(j) = self
                    .files
                    .iter()
                    .position(|x| x.base() == base && !x.targets.is_empty())
                else {
                    return;
                };
                if self.files[j].targets.iter().any(|x| x.name == t) || !TARGETS.contains(&t) {
                    return;
                }
                self.files[j].targets.push(Target {
                    name: t.to_string(),
                    region: one.region,
                    other_account: one.other_account,
                });
                self.files.remove(i);
            }
            Edit::Owner(f, o) if n > 0 => self.files[pick(f)].owner = OWNERS[o],
            Edit::Deploy(f) if n > 0 => {
                let i = pick(f);
                self.deploy(i);
            }
            Edit::TeardownRetired(k) => self.teardown(k),
            _ => {}
        }
    }

    /// A deploy of file `i`, as qfleet would: refused (nothing done) for a file that does not
    /// load or whose environments another file makes too; each environment's stacks made, or
    /// taken over and marked anew, but for stacks another owner made (refused, kept).
    fn deploy(&mut self, i: usize) {
        self.write();
        let path = self.path(&self.files[i]);
        let Ok(loaded) = crate::config::load(&path) else {
            self.log.push("  (refused: the file does not load)".into());
            return;
        };
        let world = self.world();
        let envs = loaded.expand();
        for env in &envs {
            let key = making_key(env, Some(OWN));
            if world
                .named(&key.name, None)
                .iter()
                .any(|e| e.makers.len() > 1)
            {
                self.log
                    .push(format!("  (refused: two files make {})", key.name));
                return;
            }
        }
        for env in envs.iter().filter(|e| e.deployed_directly()) {
            let key = making_key(env, Some(OWN));
            if let Some(tags) = self.aws.get(&key)
                && tags.get(crate::config::OWNER_TAG).map(String::as_str)
                    != env.spec.owner.as_deref()
            {
                self.log
                    .push(format!("  {key:?}: another owner's; refused"));
                continue;
            }
            let mut tags = crate::ownership::marks(env, false);
            tags.extend(crate::ownership::record(env));
            self.log.push(format!("  {key:?} marked {tags:?}"));
            self.aws.insert(key, tags);
        }
    }

    /// A teardown of a retired environment by the address qfleet prints for it: the address
    /// must reach it alone, and only its stacks go.
    fn teardown(&mut self, k: usize) {
        self.write();
        let world = self.world();
        let retired: Vec<Key> = world
            .entities()
            .into_iter()
            .filter(|e| e.retired())
            .map(|e| e.key.clone())
            .collect();
        if retired.is_empty() {
            return;
        }
        let key = &retired[k % retired.len()];
        let address = world.address(key);
        let (name, place) = Place::pick(&address).expect("an address parses");
        let reached = match world.reach(name, Some(&place)) {
            Reach::One(e) => e.key.clone(),
            other => panic!("{address} reaches {other:?}"),
        };
        assert_eq!(&reached, key, "{address}");
        self.log.push(format!("  teardown {address}"));
        self.aws.remove(key);
    }

    /// The invariants, after every step.
    fn check(&self) -> Result<(), TestCaseError> {
        self.write();
        let world = self.world();
        let entities = world.entities();
        // Every stack belongs to exactly one environment.
        for key in self.aws.keys() {
            let n = entities.iter().filter(|e| e.key == key).count();
            prop_assert_eq!(n, 1, "{:?} is in {} environments", key, n);
        }
        let mut names: BTreeMap<&str, usize> = BTreeMap::new();
        for e in &entities {
            *names.entry(e.key.name.as_str()).or_default() += 1;
        }
        for (name, count) in names {
            match world.reach(name, None) {
                // A name that reaches more than one environment is refused, naming each by an
                // address that reaches it alone.
                Reach::Several(list) => {
                    prop_assert!(count > 1);
                    let addresses: BTreeSet<&String> = list.iter().map(|(_, a)| a).collect();
                    prop_assert_eq!(addresses.len(), list.len(), "{:?}", addresses);
                    for (e, address) in &list {
                        let (n, place) = Place::pick(address).expect("an address parses");
                        match world.reach(n, Some(&place)) {
                            Reach::One(one) => prop_assert_eq!(one.key, e.key),
                            other => prop_assert!(false, "{} reaches {:?}", address, other),
                        }
                    }
                }
                Reach::One(_) => prop_assert_eq!(count, 1),
                Reach::None => prop_assert!(false, "{} reaches nothing", name),
            }
        }
        for e in &entities {
            // Every retired environment's printed address reaches it alone.
            if e.retired() {
                let address = world.address(e.key);
                let (n, place) = Place::pick(&address).expect("an address parses");
                match world.reach(n, Some(&place)) {
                    Reach::One(one) => prop_assert_eq!(one.key, e.key),
                    other => prop_assert!(false, "{} reaches {:?}", address, other),
                }
            }
        }
        for f in &world.files {
            for r in world.retired_of(f) {
                // Nothing a file still makes is called retired, by any file.
                prop_assert!(r.makers.is_empty(), "{:?} is made, yet retired", r.key);
            }
        }
        // An environment whose marks name a file of the directory and its environment, and
        // which no file makes, is shown by that file: never lost from sight.
        for e in entities.iter().filter(|e| e.retired()) {
            let m = &e.marked.unwrap().made;
            if let Some(f) = world.files.iter().find(|f| {
                Some(f.file_environment.as_str()) == m.file.as_deref()
                    && f.name() == m.stack_file.as_deref()
            }) {
                let shown = world.retired_of(f).iter().any(|r| r.key == e.key);
                prop_assert!(shown, "{:?} is not shown by {}", e.key, f.path.display());
            }
        }
        Ok(())
    }
}

/// The key of an environment as loaded (the model's deploys' key).
fn making_key(env: &crate::config::Environment, own: Option<&str>) -> Key {
    let account = env
        .target
        .as_ref()
        .and_then(|t| t.account.clone())
        .or_else(|| match env.spec.accounts.as_deref() {
            Some([one]) => Some(one.clone()),
            _ => None,
        });
    Key {
        name: env.resource_name().to_string(),
        account: account.or(own.map(str::to_string)),
        region: env.spec.region.clone(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2000,
        ..ProptestConfig::default()
    })]

    /// Issue 83, item 3: the invariants hold after every step of a generated sequence.
    #[test]
    fn identity_holds_on_every_sequence_of_edits_and_deploys(
        files in start(),
        edits in prop::collection::vec(edit(), 1..12),
    ) {
        let mut run = Run {
            dir: tempfile::tempdir().unwrap(),
            files,
            aws: Aws::new(),
            log: Vec::new(),
        };
        // The files as they start, deployed.
        for i in 0..run.files.len() {
            run.deploy(i);
        }
        run.check()?;
        for e in &edits {
            run.apply(e);
            run.check().map_err(|err| {
                TestCaseError::fail(format!("{err}\nafter:\n{}", run.log.join("\n")))
            })?;
        }
    }
}
