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
        if (args.Length == 2 && args[0] == "make-corpus") return MakeCorpus(args[1]);
        if (args.Length >= 2 && args[0] == "replay") return Replay(args[1], args[2..]);
        if (args.Length == 1 && ReaderTargets.All.TryGetValue(args[0], out var target)) return Fuzz(target);
        Console.Error.WriteLine($"usage: EigenProNet.Fuzz TARGET (under afl-fuzz) | replay TARGET FILE… | make-corpus DIR; targets: {string.Join(", ", ReaderTargets.All.Keys)}");
        return 2;
    }

    private static bool Accepts(Action<string> read, string path, out Exception? finding, out bool rejected)
    {
        finding = null;
        rejected = false;
        try { read(path); }
        catch (DataFormatException) { rejected = true; }
        // The gzip layer of the IDX reader reports a corrupt stream as InvalidDataException wrapped in its own error;
        // a bare one escaping is a finding like any other.
        catch (Exception e) { finding = e; }
        return finding is null;
    }

    private static int Fuzz((string Extension, Action<string> Read) target)
    {
        // Readers take paths: each input is written to one scratch file per process (AFL runs one input at a time).
        string scratch = Path.Combine(Path.GetTempPath(), $"epn-fuzz-{Environment.ProcessId}{target.Extension}");
        Fuzzer.OutOfProcess.Run(stream =>
        {
            using (var file = File.Create(scratch)) stream.CopyTo(file);
            try { target.Read(scratch); }
            catch (DataFormatException) { }   // the documented rejection; anything else escapes and is a finding
        });
        return 0;
    }


    /// <summary>Runs a target over files (a corpus, AFL's crashes); exit code 1 when any is a finding.</summary>
    private static int Replay(string name, string[] files)
    {
        if (!ReaderTargets.All.TryGetValue(name, out var target)) { Console.Error.WriteLine($"unknown target '{name}'"); return 2; }
        int findings = 0, inputs = 0, rejections = 0;
        foreach (var file in files.SelectMany(f => Directory.Exists(f) ? Directory.GetFiles(f) : [f]).Where(f => !f.EndsWith("README.txt", StringComparison.Ordinal)))
        {
            inputs++;
            string scratch = Path.Combine(Path.GetTempPath(), $"epn-replay-{Environment.ProcessId}{target.Extension}");
            File.Copy(file, scratch, overwrite: true);
            bool accepted = Accepts(target.Read, scratch, out var finding, out bool rejected);
            if (rejected) rejections++;
            if (!accepted)
            {
                findings++;
                Console.Error.WriteLine($"finding: {name} on {file}: {finding!.GetType().Name}: {finding.Message}");
            }
            File.Delete(scratch);
        }
        Console.WriteLine($"{name}: {inputs} inputs ({inputs - rejections - findings} read, {rejections} rejected with DataFormatException), {findings} findings");
        return findings == 0 ? 0 : 1;
    }

    /// <summary>Seed inputs made by our own writers (and the layouts they read): small, valid, one folder per target.</summary>
    private static int MakeCorpus(string root)
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
        Console.WriteLine($"seed corpus written to {root}");
        return 0;
    }

    private static byte[] Gzip(byte[] bytes)
    {
        using var output = new MemoryStream();
        using (var gz = new GZipStream(output, CompressionLevel.SmallestSize)) gz.Write(bytes);
        return output.ToArray();
    }
}
