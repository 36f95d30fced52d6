using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;

namespace EigenProNet.Data;

/// <summary>One published file of a dataset and how to recognise it.</summary>
/// <param name="FileName">Name of the published file.</param>
/// <param name="Md5">MD5 of the file as published.</param>
/// <param name="ContentSha256">SHA-256 of the decompressed content of a .gz file (accepts re-compressed copies such as Debian's), or null.</param>
public sealed record DatasetResource(string FileName, string Md5, string? ContentSha256 = null);

/// <summary>A downloadable dataset: where it is published and its files.</summary>
public sealed record DownloadableDataset(string Name, string BaseUrl, IReadOnlyList<DatasetResource> Files, string Description);

/// <summary>
/// <c>eigenpro data download</c>: fetches the official archives (or copies them from a local mirror folder),
/// verifies every checksum before anything is installed, and unpacks CIFAR-10 into its batch folder.
/// </summary>
public static class DatasetDownloader
{
    /// <summary>The datasets that can be downloaded.</summary>
    public static IReadOnlyDictionary<string, DownloadableDataset> Catalog { get; } = new Dictionary<string, DownloadableDataset>(StringComparer.OrdinalIgnoreCase)
    {
        ["cifar10"] = new("cifar10", "https://www.cs.toronto.edu/~kriz/",
            [new("cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530")], "CIFAR-10 binary version (unpacked to cifar-10-batches-bin/)"),
        ["mnist"] = new("mnist", "https://ossci-datasets.s3.amazonaws.com/mnist/",
        [
            new("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
            new("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
            new("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
            new("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
        ], "MNIST IDX files"),
        ["fashion-mnist"] = new("fashion-mnist", "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        [
            new("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d", "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
            new("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe", "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
            new("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79", "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
            new("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310", "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
        ], "Fashion-MNIST IDX files"),
    };

    /// <summary>
    /// Downloads <paramref name="name"/> into <paramref name="directory"/> and returns the path to pass as <c>--data</c>.
    /// With <paramref name="mirror"/> (a folder or a base URL) the files come from there instead of the official site.
    /// Files already present and verified are kept.
    /// </summary>
    /// <exception cref="ArgumentException">Unknown dataset.</exception>
    /// <exception cref="InvalidDataException">A checksum does not match (the file is deleted, nothing is installed).</exception>
    public static string Download(string name, string directory, string? mirror = null, IProgress<string>? log = null, CancellationToken ct = default)
    {
        if (!Catalog.TryGetValue(name, out var dataset))
            throw new ArgumentException($"Unknown dataset '{name}'; expected one of {string.Join(", ", Catalog.Keys)}.", nameof(name));
        Directory.CreateDirectory(directory);
        foreach (var file in dataset.Files)
        {
            string target = Path.Combine(directory, file.FileName);
            if (File.Exists(target) && Verify(target, file)) { log?.Report($"{file.FileName}: present, checksum ok"); continue; }
            string temp = target + ".part";
            try
            {
                Fetch(mirror ?? dataset.BaseUrl, file.FileName, temp, log, ct);
                if (!Verify(temp, file))
                    throw new InvalidDataException($"{file.FileName}: checksum mismatch (expected MD5 {file.Md5}); the download was discarded.");
                File.Move(temp, target, overwrite: true);
                log?.Report($"{file.FileName}: downloaded, checksum ok");
            }
            finally
            {
                if (File.Exists(temp)) File.Delete(temp);
            }
        }
        if (dataset.Name != "cifar10") return directory;
        string folder = Path.Combine(directory, "cifar-10-batches-bin");
        if (!CifarBinary.IsBatchFolder(folder))
        {
            log?.Report("unpacking cifar-10-binary.tar.gz");
            string staging = Path.Combine(directory, ".cifar-unpack-" + Guid.NewGuid().ToString("N"));
            try
            {
                using (var gz = new GZipStream(File.OpenRead(Path.Combine(directory, dataset.Files[0].FileName)), CompressionMode.Decompress))
                    TarFile.ExtractToDirectory(gz, staging, overwriteFiles: true);
                string unpacked = Path.Combine(staging, "cifar-10-batches-bin");
                if (!CifarBinary.IsBatchFolder(unpacked)) throw new InvalidDataException("The archive holds no cifar-10-batches-bin folder.");
                if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
                Directory.Move(unpacked, folder);
            }
            finally
            {
                if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
            }
        }
        return folder;
    }

    /// <summary>True when <paramref name="path"/> matches the published MD5 or, for .gz files, the decompressed content's SHA-256.</summary>
    public static bool Verify(string path, DatasetResource file)
    {
        using (var s = File.OpenRead(path))
            if (Convert.ToHexStringLower(MD5.HashData(s)) == file.Md5) return true;
        if (file.ContentSha256 is null) return false;
        try
        {
            using var gz = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
            return Convert.ToHexStringLower(SHA256.HashData(gz)) == file.ContentSha256;
        }
        catch (InvalidDataException)
        {
            return false;
        }
    }

    private static void Fetch(string source, string fileName, string destination, IProgress<string>? log, CancellationToken ct)
    {
        if (Directory.Exists(source))
        {
            string from = Path.Combine(source, fileName);
            if (!File.Exists(from)) throw new FileNotFoundException($"{from}: the mirror folder does not hold {fileName}.", from);
            File.Copy(from, destination, overwrite: true);
            return;
        }
        if (!Uri.TryCreate(source.EndsWith('/') ? source : source + "/", UriKind.Absolute, out var baseUri) || baseUri.Scheme is not ("http" or "https"))
            throw new ArgumentException($"Mirror '{source}' is neither an existing folder nor an http(s) URL.", nameof(source));
        var url = new Uri(baseUri, fileName);
        log?.Report($"{fileName}: downloading {url}");
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(30) };
        try
        {
            using var response = http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, ct).GetAwaiter().GetResult();
            response.EnsureSuccessStatusCode();
            using var body = response.Content.ReadAsStream(ct);
            using var file = File.Create(destination);
            body.CopyTo(file);
        }
        catch (HttpRequestException e)
        {
            throw new DownloadFailedException($"{url}: download failed ({e.Message}). Without network, copy the files into a folder and use it as the mirror.", e);
        }
    }
}

/// <summary>A dataset file could not be downloaded (no network, or the server refused); a local mirror folder avoids the network.</summary>
public sealed class DownloadFailedException(string message, Exception inner) : IOException(message, inner);
