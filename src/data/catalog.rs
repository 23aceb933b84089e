//! The catalogue of data sets: their names, normalisation, class names, files, checksums and
//! mirrors. Finding the files on disk ([`locate`](super::locate)) and downloading them
//! ([`download`](super::download)) both read it; it reads neither.

use std::fmt;
use std::str::FromStr;

use super::idx::NUM_CLASSES;
use crate::error::{Error, Result};

/// Which data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DatasetName {
    /// 8,000 training and 2,000 test digits of MNIST, bundled with the program.
    #[default]
    MnistSample,
    /// The full MNIST: 60,000 training and 10,000 test digits.
    Mnist,
    /// Fashion-MNIST: 60,000 training and 10,000 test pictures of clothing.
    FashionMnist,
}

impl DatasetName {
    /// All data sets, in the order the book meets them.
    pub(crate) const ALL: [DatasetName; 3] =
        [DatasetName::MnistSample, DatasetName::Mnist, DatasetName::FashionMnist];

    /// The name used on the command line and as directory name: `mnist-sample`, `mnist`, `fashion-mnist`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DatasetName::MnistSample => "mnist-sample",
            DatasetName::Mnist => "mnist",
            DatasetName::FashionMnist => "fashion-mnist",
        }
    }

    /// `(mean, std)` of the training pixels scaled to `[0, 1]`: for MNIST the numbers of PyTorch's
    /// examples/mnist, `transforms.Normalize((0.1307,), (0.3081,))` (the notes give no normalisation). The sample uses MNIST's, so that a model trained
    /// on the sample sees inputs on the same scale as one trained on the full set.
    pub fn normalization(self) -> (f32, f32) {
        match self {
            DatasetName::MnistSample | DatasetName::Mnist => (0.1307, 0.3081),
            DatasetName::FashionMnist => (0.2860, 0.3530),
        }
    }

    /// The names of the ten classes, indexed by label.
    pub(crate) fn class_names(self) -> &'static [&'static str; NUM_CLASSES] {
        match self {
            DatasetName::MnistSample | DatasetName::Mnist => {
                &["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]
            }
            DatasetName::FashionMnist => &[
                "T-shirt/top",
                "Trouser",
                "Pullover",
                "Dress",
                "Coat",
                "Sandal",
                "Shirt",
                "Sneaker",
                "Bag",
                "Ankle boot",
            ],
        }
    }

    /// Whether the data set is inside the program (no files needed).
    pub(crate) fn is_bundled(self) -> bool {
        self == DatasetName::MnistSample
    }
}

impl FromStr for DatasetName {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let lower = s.trim().to_ascii_lowercase().replace('_', "-");
        DatasetName::ALL.into_iter().find(|name| name.as_str() == lower).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "unknown data set `{s}`; use mnist-sample (bundled), mnist or fashion-mnist"
            ))
        })
    }
}

impl fmt::Display for DatasetName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The two halves of every data set, named as in the original distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Split {
    Train,
    Test,
}

impl Split {
    /// The file stems of the split's images and labels (each may also end in `.gz`).
    pub(crate) fn file_stems(self) -> [&'static str; 2] {
        match self {
            Split::Train => [stem(FILE_NAMES[0]), stem(FILE_NAMES[1])],
            Split::Test => [stem(FILE_NAMES[2]), stem(FILE_NAMES[3])],
        }
    }
}

/// `train-images-idx3-ubyte.gz` → `train-images-idx3-ubyte`.
fn stem(file_name: &'static str) -> &'static str {
    file_name.strip_suffix(".gz").unwrap_or(file_name)
}

/// Environment variable with comma-separated mirror URLs that replace the built-in ones.
pub const MIRRORS_ENV: &str = "LENET_TUTOR_MIRRORS";

/// One file to download, its size in bytes and the md5 checksum (lower-case hex) it must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileSpec<'a> {
    /// The file name, appended to each mirror's URL and used in the destination directory.
    pub name: &'a str,
    /// Its size: a mirror that sends more is cut off there (and the next one tried).
    pub size: u64,
    /// Its md5 checksum, 32 lower-case hex digits.
    pub md5: &'a str,
}

/// The four files of every full data set, as distributed (training images and labels, test images
/// and labels). The only place their names are written.
pub(crate) const FILE_NAMES: [&str; 4] = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
];

/// MNIST's sizes and checksums as published with it, in the order of [`FILE_NAMES`].
const MNIST_FILES: [(u64, &str); 4] = [
    (9_912_422, "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
    (28_881, "d53e105ee54ea40749a09fcbcd1e9432"),
    (1_648_877, "9fb629c4189551a2d022fa330f9573f3"),
    (4_542, "ec29112dd5afa0611ce80d1b7f02629c"),
];

/// Fashion-MNIST's sizes and checksums from its README, in the order of [`FILE_NAMES`].
///
/// Debian's package holds the same pixels but re-compressed, so its `.gz` files have other checksums;
/// that does not matter, because only downloaded files are checked.
const FASHION_FILES: [(u64, &str); 4] = [
    (26_421_880, "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
    (29_515, "25c81989df183df01b3e8a0aad5dffbe"),
    (4_422_102, "bef4ecab320f06d8554ea6380940ec79"),
    (5_148, "bb300cfdad3c16e7a12a480ee83cd310"),
];

/// The files of a data set with their sizes and checksums (none for the bundled sample).
pub(crate) fn files(name: DatasetName) -> Vec<FileSpec<'static>> {
    let specs: &[(u64, &'static str)] = match name {
        DatasetName::MnistSample => &[],
        DatasetName::Mnist => &MNIST_FILES,
        DatasetName::FashionMnist => &FASHION_FILES,
    };
    FILE_NAMES.iter().zip(specs).map(|(&name, &(size, md5))| FileSpec { name, size, md5 }).collect()
}

/// The built-in mirrors of a data set, in the order they are tried.
pub(crate) fn default_mirrors(name: DatasetName) -> Vec<String> {
    let urls: &[&str] = match name {
        DatasetName::MnistSample => &[],
        DatasetName::Mnist => &[
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
        ],
        DatasetName::FashionMnist => &["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
    };
    urls.iter().map(|url| url.to_string()).collect()
}

/// The mirrors to use: those in `LENET_TUTOR_MIRRORS` if it is set, else the catalogue's default mirrors.
pub fn mirrors(name: DatasetName) -> Vec<String> {
    match std::env::var(MIRRORS_ENV) {
        Ok(list) if !parse_mirror_list(&list).is_empty() => parse_mirror_list(&list),
        _ => default_mirrors(name),
    }
}

/// Splits a comma-separated list of URLs, dropping blanks.
pub(crate) fn parse_mirror_list(list: &str) -> Vec<String> {
    list.split(',').map(str::trim).filter(|url| !url.is_empty()).map(String::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_print() {
        for name in DatasetName::ALL {
            assert_eq!(name.to_string().parse::<DatasetName>().unwrap(), name);
        }
        assert_eq!("Fashion_MNIST".parse::<DatasetName>().unwrap(), DatasetName::FashionMnist);
        let err = "cifar10".parse::<DatasetName>().unwrap_err().to_string();
        assert!(err.contains("unknown data set `cifar10`") && err.contains("fashion-mnist"), "{err}");
    }

    #[test]
    fn normalization_and_class_names() {
        assert_eq!(DatasetName::MnistSample.normalization(), DatasetName::Mnist.normalization());
        assert_eq!(DatasetName::Mnist.normalization(), (0.1307, 0.3081));
        assert_eq!(DatasetName::FashionMnist.normalization(), (0.2860, 0.3530));
        assert_eq!(DatasetName::Mnist.class_names()[7], "7");
        assert_eq!(DatasetName::FashionMnist.class_names()[0], "T-shirt/top");
        assert_eq!(DatasetName::FashionMnist.class_names()[9], "Ankle boot");
    }

    #[test]
    fn mirror_lists_parse() {
        assert_eq!(parse_mirror_list(" http://a/ , ,http://b"), vec!["http://a/", "http://b"]);
        assert!(parse_mirror_list(" , ").is_empty());
    }

    #[test]
    fn every_full_data_set_has_mirrors_and_four_checksummed_files() {
        for name in [DatasetName::Mnist, DatasetName::FashionMnist] {
            assert!(!default_mirrors(name).is_empty());
            assert_eq!(files(name).len(), 4);
            for file in files(name) {
                assert_eq!(file.md5.len(), 32, "{file:?}");
                assert!(file.md5.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
            }
        }
        assert!(default_mirrors(DatasetName::MnistSample).is_empty());
    }

    #[test]
    fn split_stems_come_from_the_file_names() {
        assert_eq!(Split::Train.file_stems(), ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"]);
        assert_eq!(Split::Test.file_stems(), ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]);
    }
}
