//! The offline half of the model of identity ([`super::identity`]): what every stack file of
//! a directory makes, and where, each file read alone ([`crate::config::declared`]), the
//! command's own environments where they are (`--region`). Joined with the marks a search
//! found, it is a [`World`].

use super::identity::{FileOf, Key, Making, Marked, Unreadable, World, file_of};
use super::{Made, Place};
use crate::aws::Aws;
use crate::config::{Environment, StackFiles};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// What the stack files of some directories make. An account `None` is the credentials' own.
#[derive(Debug, Clone, Default)]
pub(crate) struct Directory {
    files: Vec<FileOf>,
    making: Vec<Making>,
    unreadable: Vec<Unreadable>,
}

impl Directory {
    /// Every stack file (`*.yaml`, `*.yml`) of `dirs`, each read once through `files`.
    pub(crate) fn read(dirs: &[&Path], files: &StackFiles) -> Directory {
        let mut d = Directory::default();
        let mut seen: Vec<PathBuf> = Vec::new();
        for dir in dirs {
            for stem in crate::config::environment_names(dir) {
                let Ok(path) = crate::config::locate(&stem, dir) else {
                    continue;
                };
                if seen.iter().any(|p| super::same_file(p, &path)) {
                    continue;
                }
                seen.push(path.clone());
                let read = files
                    .text(&path)
                    .map_err(|e| e.to_string())
                    .and_then(|text| crate::config::declared(&path, &text));
                match read {
                    Ok(makes) => {
                        let (of, making) = file_of(&path, makes, None);
                        d.files.push(of);
                        d.making.extend(making);
                    }
                    Err(why) => d.unreadable.push(Unreadable { path, why }),
                }
            }
        }
        d
    }

    /// The directory with the command's environments `envs` where they are: each file's
    /// environments in the Region `--region` names, where the file lets it (a target refuses
    /// it), and each file the command read from elsewhere.
    pub(crate) fn with<'a>(
        mut self,
        aws: &Aws,
        envs: impl IntoIterator<Item = &'a Environment>,
    ) -> Directory {
        for env in envs.into_iter().filter(|e| e.deployed_directly()) {
            let path = &env.source.path;
            if env.target.is_none() {
                for m in self
                    .making
                    .iter_mut()
                    .filter(|m| super::same_file(&m.file, path))
                {
                    m.key.region = aws.region_for(&m.key.region);
                }
            }
            let key = Key {
                name: env.resource_name().to_string(),
                account: super::place_of(aws, env).account,
                region: aws.region_for(&env.spec.region),
            };
            if !self
                .making
                .iter()
                .any(|m| m.key == key && super::same_file(&m.file, path))
            {
                self.making.push(Making {
                    key: key.clone(),
                    file: path.clone(),
                    file_environment: env.file_environment().to_string(),
                    owner: env.spec.owner.clone(),
                });
            }
            match self
                .files
                .iter_mut()
                .find(|f| super::same_file(&f.path, path))
            {
                Some(f) => {
                    let place = Place {
                        account: key.account.clone(),
                        region: key.region.clone(),
                    };
                    if !f.places.contains(&place) {
                        f.places.push(place);
                    }
                }
                None => self.files.push(FileOf {
                    path: path.clone(),
                    file_environment: env.file_environment().to_string(),
                    owner: env.spec.owner.clone(),
                    targets: env
                        .target
                        .iter()
                        .flat_map(|t| t.file.base.spec.targets.iter().map(|x| x.name.clone()))
                        .collect(),
                    places: vec![Place {
                        account: key.account.clone(),
                        region: key.region.clone(),
                    }],
                }),
            }
        }
        self
    }

    /// The names of the environments the directory makes at `place`.
    pub(crate) fn names_at(&self, place: &Place) -> BTreeSet<String> {
        self.making
            .iter()
            .filter(|m| m.key.account == place.account && m.key.region == place.region)
            .map(|m| m.key.name.clone())
            .collect()
    }

    /// The world of the directory and the environments `found` (each with the place it was
    /// found at: its account `None` where the credentials' own were used). The credentials'
    /// own account is the one the stacks found with them are in, where any was found.
    pub(crate) fn world(&self, found: impl IntoIterator<Item = (Made, Place)>) -> World {
        let found: Vec<(Made, Place)> = found.into_iter().collect();
        let own: Option<String> = found
            .iter()
            .find(|(m, p)| p.account.is_none() && m.account.is_some())
            .and_then(|(m, _)| m.account.clone());
        let mine = |a: &Option<String>| a.clone().or_else(|| own.clone());
        let making = self
            .making
            .iter()
            .cloned()
            .map(|mut m| {
                m.key.account = mine(&m.key.account);
                m
            })
            .collect();
        let files = self
            .files
            .iter()
            .cloned()
            .map(|mut f| {
                for p in &mut f.places {
                    p.account = mine(&p.account);
                }
                f
            })
            .collect();
        let marked = found
            .into_iter()
            .map(|(made, place)| Marked {
                key: Key {
                    name: made.environment.clone(),
                    account: place.account.clone().or_else(|| made.account.clone()),
                    region: place.region.clone(),
                },
                made,
            })
            .collect();
        World::new(making, marked, files, self.unreadable.clone())
    }
}
