using System.IO.Compression;
using EigenProNet.Data;
using EigenProNet.Kernels;
using EigenProNet.LinearAlgebra;
using EigenProNet.Models;
using SharpFuzz;

namespace EigenProNet.Fuzz;

/// <summary>
/// The fuzzing entry point (issue 25): a <see cref="ReaderTargets"/> target under afl-fuzz, a replay of files
/// through one, or the seed corpus. Any exception but the reader's <see cref="DataFormatException"/> escapes, and AFL
/// counts it (as it counts a hang) as a finding.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length >= 2 && args[0] == "make-corpus") return MakeCorpus(args[1], args[2..]);
        if (args.Length >= 2 && args[0] == "replay") return Replay(args[1], args[2..]);
        if (args.Length == 1 && ReaderTargets.All.TryGetValue(args[0], out var target)) return Fuzz(target);
        Console.Error.WriteLine($"usage: EigenProNet.Fuzz TARGET (under afl-fuzz) | replay TARGET FILE… | make-corpus DIR [UCI-FOLDER…]; targets: {string.Join(", ", ReaderTargets.All.Keys)}");
        return 2;
    }

    private static bool Accepts(FuzzTarget target, string path, out Exception? finding, out bool rejected)
    {
        finding = null;
        rejected = false;
        try { target.Read(path); }
        catch (Exception e) when (target.IsDocumented(e))
        {
            rejected = true;
            if (Environment.GetEnvironmentVariable("EIGENPRO_FUZZ_VERBOSE") is not null) Console.Error.WriteLine($"rejected: {e.Message}");
        }
        catch (Exception e) { finding = e; }
        return finding is null;
    }

    private static int Fuzz(FuzzTarget target)
    {
        // Readers take paths: each input is placed in one scratch folder per process (AFL runs one input at a time).
        string scratch = Path.Combine(Path.GetTempPath(), $"epn-fuzz-{Environment.ProcessId}");
        Fuzzer.OutOfProcess.Run(stream =>
        {
            using var input = new MemoryStream();
            stream.CopyTo(input);
            string path = target.Place(input.GetBuffer().AsSpan(0, (int)input.Length), scratch);
            try { target.Read(path); }
            catch (Exception e) when (target.IsDocumented(e)) { }   // a documented rejection; anything else escapes and is a finding
        });
        return 0;
    }

    /// <summary>Runs a target over files (a corpus, AFL's crashes); exit code 1 when any is a finding.</summary>
    private static int Replay(string name, string[] files)
    {
        if (!ReaderTargets.All.TryGetValue(name, out var target)) { Console.Error.WriteLine($"unknown target '{name}'"); return 2; }
        int findings = 0, inputs = 0, rejections = 0;
        string scratch = Path.Combine(Path.GetTempPath(), $"epn-replay-{Environment.ProcessId}");
        foreach (var file in files.SelectMany(f => Directory.Exists(f) ? Directory.GetFiles(f) : [f]).Where(f => !f.EndsWith("README.txt", StringComparison.Ordinal)))
        {
            inputs++;
            string path = target.Place(File.ReadAllBytes(file), scratch);
            bool accepted = Accepts(target, path, out var finding, out bool rejected);
            if (rejected) rejections++;
            if (!accepted)
            {
                findings++;
                Console.Error.WriteLine($"finding: {name} on {file}: {finding!.GetType().Name}: {finding.Message}");
                if (Environment.GetEnvironmentVariable("EIGENPRO_FUZZ_VERBOSE") is not null) Console.Error.WriteLine(finding.StackTrace);
            }
        }
        if (Directory.Exists(scratch)) Directory.Delete(scratch, recursive: true);
        Console.WriteLine($"{name}: {inputs} inputs ({inputs - rejections - findings} read, {rejections} rejected as documented), {findings} findings");
        return findings == 0 ? 0 : 1;
    }

    /// <summary>Seed inputs made by our own writers (and the layouts they read): small, valid, one folder per target.</summary>
    private static int MakeCorpus(string root, IEnumerable<string> realUciFolders)
    {
        string Dir(string target) { var d = Path.Combine(root, target); Directory.CreateDirectory(d); return d; }
        var x = Matrix.FromRows([1, 2, 3], [4, 5, 6]);
        Npy.Write(Path.Combine(Dir("npy"), "float32.npy"), x);
        Npy.Write(Path.Combine(Dir("npy"), "int64.npy"), new NpyArray(new long[] { 0, 1, 2 }, 3));
        Npy.WriteArchive(Path.Combine(Dir("npz"), "stored.npz"), new Dictionary<string, NpyArray> { ["x"] = NpyArray.FromMatrix(x) });
        Npy.WriteArchive(Path.Combine(Dir("npz"), "deflated.npz"), new Dictionary<string, NpyArray> { ["x"] = NpyArray.FromMatrix(x), ["y"] = new NpyArray(new int[] { 1, 0 }, 2) }, compressed: true);

        var pixels = new Matrix(2, CifarBinary.PixelCount);
        for (int j = 0; j < pixels.Columns; j++) { pixels[0, j] = j % 256; pixels[1, j] = 255 - j % 256; }
        CifarBinary.Write(Path.Combine(Dir("cifar"), "two.bin"), new Dataset(pixels, [3, 7], 10, "seed"));

        byte[] images = [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 0, 64, 128, 255, 1, 2, 3, 4];
        byte[] labels = [0, 0, 8, 1, 0, 0, 0, 2, 3, 9];
        File.WriteAllBytes(Path.Combine(Dir("idx-images"), "plain"), images);
        File.WriteAllBytes(Path.Combine(Dir("idx-images"), "gzip"), Gzip(images));
        File.WriteAllBytes(Path.Combine(Dir("idx-labels"), "plain"), labels);
        File.WriteAllBytes(Path.Combine(Dir("idx-labels"), "gzip"), Gzip(labels));

        File.WriteAllText(Path.Combine(Dir("csv"), "header.csv"), "a,b,label\n1.5,2,cat\n-3,4e2,dog\n0,0,cat\n");
        File.WriteAllText(Path.Combine(Dir("csv"), "plain.csv"), "1;2;0\n3;4;1\n");

        var model = new KernelModel(new LaplaceKernel(2), x, Matrix.FromRows([1, 0], [0, 1]), classCount: 2);
        model.Save(Path.Combine(Dir("epn"), "laplace.epn"));
        new KernelModel(new NtkReluKernel(2), x, Matrix.FromRows([0.5f], [-1f])).WithPreprocessor(Preprocessor.Fit(Scaling.Standardize, x))
            .Save(Path.Combine(Dir("epn"), "ntk-standardized.epn"));
        // The model files' bodies, without the checksum the epn-sealed target appends.
        foreach (var file in Directory.GetFiles(Dir("epn")))
        {
            var bytes = File.ReadAllBytes(file);
            File.WriteAllBytes(Path.Combine(Dir("epn-sealed"), Path.GetFileNameWithoutExtension(file)), bytes[..^32]);
        }

        // Folder targets: bundles of a small UCI-layout dataset (each real collection folder given after DIR is packed
        // too) and of a network study's run directory after one epoch.
        using (var uci = new ScratchFolder())
        {
            string folder = Path.Combine(uci.Path, "toy");
            Directory.CreateDirectory(folder);
            File.WriteAllText(Path.Combine(folder, "toy.txt"), "n_entradas= 2\nn_patrons1= 4\nfich1= toy_R.dat\nn_clases= 2\n");
            File.WriteAllText(Path.Combine(folder, "toy_R.dat"), "\tf1\tf2\tclase\n1\t0.5\t-1.25\t0\n2\t1e-3\t2\t1\n3\t0\t0\t0\n4\t-0.75\t1.5\t1\n");
            File.WriteAllText(Path.Combine(folder, "conxuntos.dat"), "0 1\n2 3\n");
            File.WriteAllText(Path.Combine(folder, "conxuntos_kfold.dat"), "0 1 2\n3\n1 2 3\n0\n0 2 3\n1\n0 1 3\n2\n");
            File.WriteAllBytes(Path.Combine(Dir("uci"), "toy"), FileBundle.Pack(uci.Path));
        }
        foreach (var real in realUciFolders)
        {
            using var copy = new ScratchFolder();
            string name = Path.GetFileName(Path.TrimEndingDirectorySeparator(real));
            Directory.CreateDirectory(Path.Combine(copy.Path, name));
            foreach (var file in Directory.GetFiles(real)) File.Copy(file, Path.Combine(copy.Path, name, Path.GetFileName(file)));
            File.WriteAllBytes(Path.Combine(Dir("uci"), name), FileBundle.Pack(copy.Path));
        }
        using (var run = new ScratchFolder())
        {
            ResumeTarget.WriteSeed(run.Path);
            File.WriteAllBytes(Path.Combine(Dir("dynamics-resume"), "network-1-epoch"), FileBundle.Pack(run.Path));
        }
        Console.WriteLine($"seed corpus written to {root}");
        return 0;
    }

    private static byte[] Gzip(byte[] bytes)
    {
        using var output = new MemoryStream();
        using (var gz = new GZipStream(output, CompressionLevel.SmallestSize)) gz.Write(bytes);
        return output.ToArray();
    }

    /// <summary>A temporary folder, deleted with everything in it.</summary>
    private sealed class ScratchFolder : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("epn-fuzz-seed-").FullName;
        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
