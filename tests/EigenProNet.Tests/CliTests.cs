using System.Text.Json;
using EigenProNet.Cli;

namespace EigenProNet.Tests;

public class CliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = EigenProCli.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    [Fact]
    public void BenchGemmPrintsOneJsonObjectWithPeak()
    {
        var (code, stdout, stderr) = Run("bench", "gemm", "--size", "96", "--json", "--threads", "1");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(stdout);
        var r = doc.RootElement;
        Assert.Equal("gemm", r.GetProperty("benchmark").GetString());
        Assert.True(r.GetProperty("seconds").GetDouble() > 0);
        Assert.True(r.GetProperty("gflops").GetDouble() > 0);
        Assert.True(r.GetProperty("peak_gflops").GetDouble() > 0);
        Assert.Contains("GFLOP/s", stderr);
    }

    [Fact]
    public void BenchKernelReportsRatioToGemm()
    {
        var (code, stdout, _) = Run("bench", "kernel", "--kind", "ntk", "--rows", "40", "--cols", "50", "--dim", "30", "--json");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(stdout);
        Assert.Equal("kernel:ntk", doc.RootElement.GetProperty("benchmark").GetString());
        Assert.True(doc.RootElement.GetProperty("extra").GetProperty("kernel_to_gemm_time_ratio").GetDouble() > 0);
    }

    [Fact]
    public void UsageErrorsExitWithTwo()
    {
        Assert.Equal(2, Run("bench", "gemm", "--size", "abc").Code);
        Assert.Equal(2, Run("bench", "kernel", "--kind", "cosine").Code);
        Assert.Equal(2, Run("no-such-command").Code);
        var (code, _, err) = Run("bench", "gemm", "--size", "0");
        Assert.Equal(2, code);
        Assert.Contains("--size", err);
        Assert.Equal(2, Run("bench", "gemm", "--threads", "0").Code);
    }

    [Fact]
    public void HelpSucceeds()
    {
        var (code, stdout, _) = Run("--help");
        Assert.Equal(0, code);
        Assert.Contains("bench", stdout);
    }
}
