namespace EigenProNet.Tests;

/// <summary>Runs the <c>eigenpro</c> command line in-process, capturing its output.</summary>
internal static class CliRunner
{
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = EigenProNet.Cli.EigenProCli.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    /// <summary>The real CIFAR-10 sample bundled in the repository.</summary>
    public static string Sample => Path.Combine(Reference.RepoRoot(), "data", "cifar10-sample");
}
