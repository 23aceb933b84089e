//! Where a data set's files are found: the bundled sample, a data directory, the cache, Debian's
//! package, or a download.
//!
//! Three data sets have the same shape (28x28 grey images, ten classes), so one reader serves all:
//!
//! * `mnist-sample`: 8,000 + 2,000 real MNIST digits, bundled inside the program (no files, no network),
//!   the default of every example in the book;
//! * `mnist`: the full 60,000 + 10,000 handwritten digits;
//! * `fashion-mnist`: 60,000 + 10,000 pictures of clothes, the harder drop-in replacement.
//!
//! The full sets are looked for, in this order: an explicit data directory (`--data-dir`), the
//! directory in `LENET_TUTOR_DATA`, the user's cache directory, Debian's package path (Fashion-MNIST
//! only), and if all that fails they are downloaded into the cache directory.

use std::path::{Path, PathBuf};

use super::catalog::{DatasetName, Split};
use super::dataset::{Dataset, Splits};
use super::download;
use super::idx;
use crate::error::{Error, Result};

/// Environment variable naming a directory with the data files (directly or in a `<name>/` subdirectory).
pub const DATA_ENV: &str = "LENET_TUTOR_DATA";

/// Where Debian's package `dataset-fashion-mnist` puts the four gzip files.
pub(crate) const DEBIAN_FASHION_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// Where to look for data files and whether downloading is allowed.
#[derive(Debug, Clone)]
pub struct DataOptions {
    /// A directory given explicitly (`--data-dir`), looked in first: the files directly in it, or in
    /// its `<name>/` subdirectory.
    pub data_dir: Option<PathBuf>,
    /// Whether a data set found nowhere may be downloaded into the cache directory.
    pub allow_download: bool,
}

impl Default for DataOptions {
    fn default() -> Self {
        DataOptions { data_dir: None, allow_download: true }
    }
}

/// Loads the training and the test split of a data set.
///
/// The bundled sample never touches the disk; the full sets are looked for as the
/// [module documentation](crate::data) says, and downloaded if allowed and found nowhere.
pub fn load(name: DatasetName, options: &DataOptions) -> Result<Splits> {
    if name.is_bundled() {
        return Ok(Splits { train: bundled(Split::Train)?, test: bundled(Split::Test)? });
    }
    let dir = find_or_download(name, options, &[Split::Train, Split::Test])?;
    Ok(Splits { train: read_split(name, &dir, Split::Train)?, test: read_split(name, &dir, Split::Test)? })
}

/// Loads only the test split (the `t10k-*` files), for evaluating a trained model.
pub fn load_test(name: DatasetName, options: &DataOptions) -> Result<Dataset> {
    if name.is_bundled() {
        return bundled(Split::Test);
    }
    let dir = find_or_download(name, options, &[Split::Test])?;
    read_split(name, &dir, Split::Test)
}

/// The directory in the user's cache where a data set is downloaded to
/// (`~/.cache/lenet-tutor/<name>` on Linux), if the system has a cache directory.
pub fn cache_dir(name: DatasetName) -> Option<PathBuf> {
    dirs::cache_dir().map(|cache| cache.join("lenet-tutor").join(name.as_str()))
}

/// One directory searched for a data set's files, and why it is searched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SearchPlace {
    /// The directory.
    pub dir: PathBuf,
    /// Where it came from: `--data-dir`, `LENET_TUTOR_DATA`, `user cache`, `Debian package`.
    pub origin: &'static str,
}

/// The directories searched for a data set, in order (empty for the bundled sample).
pub(crate) fn search_places(name: DatasetName, options: &DataOptions) -> Vec<SearchPlace> {
    let env_dir = std::env::var_os(DATA_ENV).filter(|v| !v.is_empty()).map(PathBuf::from);
    let debian = Path::new(DEBIAN_FASHION_DIR);
    search_places_from(
        name,
        options.data_dir.as_deref(),
        env_dir.as_deref(),
        cache_dir(name).as_deref(),
        debian,
    )
}

/// [`search_places`] with every outside input passed in, so tests do not depend on the machine.
fn search_places_from(
    name: DatasetName,
    data_dir: Option<&Path>,
    env_dir: Option<&Path>,
    cache_dir: Option<&Path>,
    debian_fashion_dir: &Path,
) -> Vec<SearchPlace> {
    if name.is_bundled() {
        return Vec::new();
    }
    let mut places = Vec::new();
    // A `<name>/` subdirectory first: it cannot hold another data set's files by mistake.
    for (dir, origin) in [(data_dir, "--data-dir"), (env_dir, DATA_ENV)] {
        if let Some(dir) = dir {
            places.push(SearchPlace { dir: dir.join(name.as_str()), origin });
            places.push(SearchPlace { dir: dir.to_path_buf(), origin });
        }
    }
    if let Some(cache) = cache_dir {
        places.push(SearchPlace { dir: cache.to_path_buf(), origin: "user cache" });
    }
    if name == DatasetName::FashionMnist {
        places.push(SearchPlace {
            dir: debian_fashion_dir.to_path_buf(),
            origin: "Debian package dataset-fashion-mnist",
        });
    }
    places
}

/// The file for `stem` in `dir`: `stem.gz` (as distributed) or `stem` (unpacked).
fn find_file(dir: &Path, stem: &str) -> Option<PathBuf> {
    [format!("{stem}.gz"), stem.to_string()]
        .into_iter()
        .map(|file| dir.join(file))
        .find(|path| path.is_file())
}

/// The first place that has every file of `splits`, or a report of what each place lacked.
fn find_dir(places: &[SearchPlace], splits: &[Split]) -> std::result::Result<PathBuf, Vec<String>> {
    let mut report = Vec::new();
    for place in places {
        let shown = format!("{} ({})", place.dir.display(), place.origin);
        if !place.dir.is_dir() {
            report.push(format!("{shown}: no such directory"));
            continue;
        }
        let stems = splits.iter().flat_map(|split| split.file_stems());
        let missing: Vec<&str> = stems.filter(|stem| find_file(&place.dir, stem).is_none()).collect();
        if missing.is_empty() {
            return Ok(place.dir.clone());
        }
        report.push(format!("{shown}: lacks {}", missing.join(", ")));
    }
    Err(report)
}

/// Finds the directory with the files of `splits`, downloading the data set if allowed.
fn find_or_download(name: DatasetName, options: &DataOptions, splits: &[Split]) -> Result<PathBuf> {
    let places = search_places(name, options);
    let report = match find_dir(&places, splits) {
        Ok(dir) => return Ok(dir),
        Err(report) => report,
    };
    let download_result = match (options.allow_download, cache_dir(name)) {
        // Only the files of the splits asked for: evaluating a model needs no training set.
        (true, Some(dest)) => {
            let wanted: Vec<_> = super::catalog::files(name)
                .into_iter()
                .filter(|f| splits.iter().flat_map(|s| s.file_stems()).any(|stem| f.name.starts_with(stem)))
                .collect();
            let mirrors = super::catalog::mirrors(name);
            Some(download::download_files(&wanted, &dest, &mirrors, download::DEFAULT_TIMEOUT).map(|()| dest))
        }
        _ => None,
    };
    match download_result {
        Some(Ok(dest)) => Ok(dest),
        other => {
            let download_note = match other {
                Some(Err(e)) => format!("Downloading it failed: {e}"),
                _ if !options.allow_download => "Downloading is turned off.".to_string(),
                _ => "This system has no cache directory to download it into.".to_string(),
            };
            Err(not_found(name, splits, &report, &download_note))
        }
    }
}

/// The "not found" error: every place looked in, and how to fix it.
fn not_found(name: DatasetName, splits: &[Split], report: &[String], download_note: &str) -> Error {
    let files: Vec<String> =
        splits.iter().flat_map(|split| split.file_stems()).map(|stem| format!("{stem}[.gz]")).collect();
    // One line (the CLI prints errors as one line): the places looked in are separated by "; ".
    let mut msg = format!("could not find the {name} data set (files {}). Looked in: ", files.join(", "));
    if report.is_empty() {
        msg.push_str("nowhere (no --data-dir, no LENET_TUTOR_DATA and no cache directory)");
    } else {
        msg.push_str(&report.join("; "));
    }
    msg.push_str(". ");
    msg.push_str(download_note);
    msg.push_str(&format!(
        " To fix it: run `lenet-tutor download --dataset {name}` on a machine with internet access, \
         or pass --data-dir DIR (or set {DATA_ENV}=DIR) for a directory that holds the files"
    ));
    if name == DatasetName::FashionMnist {
        msg.push_str(", or install Debian's package: sudo apt install dataset-fashion-mnist");
    }
    msg.push_str(". The bundled --dataset mnist-sample needs no files at all.");
    Error::DataNotFound(msg)
}

/// Reads one split from `dir`.
fn read_split(name: DatasetName, dir: &Path, split: Split) -> Result<Dataset> {
    let [images_stem, labels_stem] = split.file_stems();
    let missing = |stem: &str| Error::DataNotFound(format!("{}: {stem}[.gz] is missing", dir.display()));
    let images_path = find_file(dir, images_stem).ok_or_else(|| missing(images_stem))?;
    let labels_path = find_file(dir, labels_stem).ok_or_else(|| missing(labels_stem))?;
    let (images, labels) = idx::read_mnist_pair(&images_path, &labels_path)?;
    Ok(Dataset::from_idx(name, images, labels))
}

/// The bundled sample, compiled into the program so it works from any directory and offline.
macro_rules! sample_file {
    ($file:literal) => {
        (
            concat!("<bundled>/data/mnist-sample/", $file),
            include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist-sample/", $file)).as_slice(),
        )
    };
}

/// Decodes one split of the bundled sample.
fn bundled(split: Split) -> Result<Dataset> {
    let ((images_name, images_bytes), (labels_name, labels_bytes)) = match split {
        Split::Train => {
            (sample_file!("train-images-idx3-ubyte.gz"), sample_file!("train-labels-idx1-ubyte.gz"))
        }
        Split::Test => (sample_file!("t10k-images-idx3-ubyte.gz"), sample_file!("t10k-labels-idx1-ubyte.gz")),
    };
    let (images_path, labels_path) = (Path::new(images_name), Path::new(labels_name));
    let images = idx::parse_images(images_path, images_bytes.to_vec())?;
    let labels = idx::parse_labels(labels_path, labels_bytes.to_vec())?;
    idx::check_mnist_pair(images_path, &images, labels_path, &labels)?;
    Ok(Dataset::from_idx(DatasetName::MnistSample, images, labels))
}

#[cfg(test)]
mod tests {
    use super::super::idx::fixtures::{gzip, images_bytes, labels_bytes, mnist_like};
    use super::*;

    /// Writes a split of `n` examples into `dir`, gzipped or not.
    fn write_split(dir: &Path, split: Split, n: usize, gzipped: bool) {
        std::fs::create_dir_all(dir).unwrap();
        let (pixels, labels) = mnist_like(n);
        let [images_stem, labels_stem] = split.file_stems();
        let files =
            [(images_stem, images_bytes(n as u32, 28, 28, &pixels)), (labels_stem, labels_bytes(&labels))];
        for (stem, bytes) in files {
            if gzipped {
                std::fs::write(dir.join(format!("{stem}.gz")), gzip(&bytes)).unwrap();
            } else {
                std::fs::write(dir.join(stem), bytes).unwrap();
            }
        }
    }

    fn offline(dir: &Path) -> DataOptions {
        DataOptions { data_dir: Some(dir.to_path_buf()), allow_download: false }
    }

    #[test]
    fn bundled_sample_loads_with_its_documented_sizes() {
        let splits = load(DatasetName::MnistSample, &DataOptions::default()).unwrap();
        assert_eq!((splits.train.len(), splits.test.len()), (8000, 2000));
        assert_eq!((splits.train.rows(), splits.train.cols()), (28, 28));
        assert_eq!(splits.train.images().len(), 8000 * 784);
        // Every digit occurs, roughly a tenth each, and images are not blank.
        for count in splits.train.class_counts() {
            assert!((600..1000).contains(&count), "{:?}", splits.train.class_counts());
        }
        let ink: u64 = splits.test.image(0).iter().map(|&p| u64::from(p)).sum();
        assert!(ink > 10_000, "first test image is nearly blank: {ink}");
        // The test split alone is the same as the test half of `load`.
        assert_eq!(load_test(DatasetName::MnistSample, &DataOptions::default()).unwrap(), splits.test);
    }

    #[test]
    fn loads_gzipped_files_from_the_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        write_split(dir.path(), Split::Train, 7, true);
        write_split(dir.path(), Split::Test, 3, true);
        let splits = load(DatasetName::Mnist, &offline(dir.path())).unwrap();
        assert_eq!((splits.train.len(), splits.test.len()), (7, 3));
        assert_eq!(splits.train.name(), DatasetName::Mnist);
        assert_eq!(splits.train.image(5)[0], 5);
    }

    #[test]
    fn loads_unpacked_files_from_a_name_subdirectory() {
        let dir = tempfile::tempdir().unwrap();
        write_split(&dir.path().join("fashion-mnist"), Split::Test, 4, false);
        let test = load_test(DatasetName::FashionMnist, &offline(dir.path())).unwrap();
        assert_eq!(test.len(), 4);
        assert_eq!(test.name().class_names()[usize::from(test.label(1))], "Trouser");
    }

    #[test]
    fn the_name_subdirectory_wins_over_files_directly_in_the_dir() {
        let dir = tempfile::tempdir().unwrap();
        write_split(dir.path(), Split::Test, 2, true);
        write_split(&dir.path().join("mnist"), Split::Test, 5, true);
        assert_eq!(load_test(DatasetName::Mnist, &offline(dir.path())).unwrap().len(), 5);
    }

    #[test]
    fn search_order_is_data_dir_env_cache_debian() {
        let places = search_places_from(
            DatasetName::FashionMnist,
            Some(Path::new("/d")),
            Some(Path::new("/e")),
            Some(Path::new("/c/lenet-tutor/fashion-mnist")),
            Path::new("/deb"),
        );
        let dirs: Vec<_> = places.iter().map(|p| p.dir.to_str().unwrap()).collect();
        assert_eq!(
            dirs,
            ["/d/fashion-mnist", "/d", "/e/fashion-mnist", "/e", "/c/lenet-tutor/fashion-mnist", "/deb"]
        );
        assert_eq!(places[2].origin, DATA_ENV);
        // Debian only packages Fashion-MNIST; the sample is never searched for.
        let mnist =
            search_places_from(DatasetName::Mnist, None, None, Some(Path::new("/c")), Path::new("/deb"));
        assert_eq!(mnist, vec![SearchPlace { dir: PathBuf::from("/c"), origin: "user cache" }]);
        assert!(search_places_from(DatasetName::MnistSample, None, None, None, Path::new("/deb")).is_empty());
    }

    #[test]
    fn not_found_lists_every_place_and_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let partial = dir.path().join("partial");
        std::fs::create_dir(&partial).unwrap();
        write_split(&partial, Split::Test, 1, true); // has the test split but no training split
        let places = vec![
            SearchPlace { dir: dir.path().join("absent"), origin: "--data-dir" },
            SearchPlace { dir: partial.clone(), origin: "user cache" },
        ];
        let report = find_dir(&places, &[Split::Train, Split::Test]).unwrap_err();
        assert!(report[0].ends_with("absent (--data-dir): no such directory"), "{report:?}");
        assert!(report[1].contains("(user cache): lacks train-images-idx3-ubyte, train-labels-idx1-ubyte"));
        // The same place is enough for the test split alone.
        assert_eq!(find_dir(&places, &[Split::Test]).unwrap(), partial);

        let msg = not_found(
            DatasetName::FashionMnist,
            &[Split::Train, Split::Test],
            &report,
            "Downloading is turned off.",
        )
        .to_string();
        assert!(msg.contains("could not find the fashion-mnist data set"), "{msg}");
        assert!(msg.contains("absent (--data-dir): no such directory"), "{msg}");
        assert!(msg.contains("lenet-tutor download --dataset fashion-mnist"), "{msg}");
        assert!(msg.contains("--data-dir DIR") && msg.contains("apt install dataset-fashion-mnist"), "{msg}");
    }

    #[test]
    fn no_data_and_no_download_is_data_not_found() {
        let dir = tempfile::tempdir().unwrap();
        // The user's cache may really hold MNIST; only assert when it does not.
        let err = load(DatasetName::Mnist, &offline(dir.path()));
        if let Err(err) = err {
            assert!(matches!(err, Error::DataNotFound(_)), "{err:?}");
            let msg = err.to_string();
            assert!(msg.contains(&dir.path().join("mnist").display().to_string()), "{msg}");
            assert!(msg.contains("Downloading is turned off"), "{msg}");
        }
    }

    #[test]
    fn a_broken_file_is_reported_not_skipped() {
        let dir = tempfile::tempdir().unwrap();
        write_split(dir.path(), Split::Test, 3, true);
        std::fs::write(dir.path().join("t10k-labels-idx1-ubyte.gz"), b"<html>404</html>").unwrap();
        let err = load_test(DatasetName::Mnist, &offline(dir.path())).unwrap_err().to_string();
        assert!(err.contains("t10k-labels-idx1-ubyte.gz: not a gzip file"), "{err}");
    }

    /// Debian's Fashion-MNIST files (if the package is installed) are found and read.
    #[test]
    fn debian_fashion_mnist_if_installed() {
        let debian = Path::new(DEBIAN_FASHION_DIR);
        if !debian.is_dir() {
            return;
        }
        let test = read_split(DatasetName::FashionMnist, debian, Split::Test).unwrap();
        assert_eq!(test.len(), 10_000);
        assert_eq!(test.class_counts(), [1000; 10]);
    }
}
