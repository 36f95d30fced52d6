using System.CommandLine;
using System.Net;
using EigenProNet.Distributed;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EigenProNet.Cli;

/// <summary>
/// <c>eigenpro cluster silo | status</c>: a silo that hosts center shards (docs/distributed.md), and the silos of a
/// running cluster. <c>eigenpro train --cluster H:P</c> trains on them.
/// </summary>
internal static class ClusterCommand
{
    public static Command Build(TextWriter stdout, TextWriter stderr)
    {
        var command = new Command("cluster", """
            Run an Orleans cluster that EigenPro 3 and 4 spread their centers over (docs/distributed.md).

            Examples:
              eigenpro cluster silo --port 11111
              eigenpro cluster silo --port 11121 --seed-node 127.0.0.1:11111
              eigenpro cluster status --cluster 127.0.0.1:11111
              eigenpro train --data data/cifar10-sample --solver eigenpro3 --centers 2000 --cluster 127.0.0.1:11111
            """);
        command.Add(Silo(stdout, stderr));
        command.Add(Status(stdout, stderr));
        return command;
    }

    private static Command Silo(TextWriter stdout, TextWriter stderr)
    {
        var port = new Option<int>("--port") { Description = "The silo's port: silos reach it there, coordinators on port + 1 (the gateway).", Required = true };
        var seed = new Option<string?>("--seed-node") { Description = "host:port of the cluster's first silo, which keeps the membership (default: this silo is the first)." };
        var host = new Option<string>("--host") { Description = "The address this silo advertises to the others (default 127.0.0.1: a cluster on this machine).", DefaultValueFactory = _ => "127.0.0.1" };
        var threads = new Option<int?>("--threads") { Description = "Worker threads of the shards' products (default: all cores)." };
        var budget = new Option<string?>("--memory-budget") { Description = "Working-memory budget of each shard, e.g. 4GiB (default: 25% of available memory)." };
        var logLevel = new Option<LogLevel>("--log-level") { Description = "What the silo logs to standard error: Trace, Debug, Information, Warning, Error, Critical or None.", DefaultValueFactory = _ => LogLevel.Warning };
        var command = new Command("silo", "Start a silo hosting center shards; runs until Ctrl+C or SIGTERM. Prints 'ready' when it has joined.") { port, seed, host, threads, budget, logLevel };
        command.SetAction(p =>
        {
            int silo = p.GetValue(port);
            if (silo < 1 || silo > 65534) throw new UsageException($"--port must be in 1…65534 (the gateway is port + 1), found {silo}.");
            if (!IPAddress.TryParse(p.GetValue(host), out var address)) throw new UsageException($"--host: expected an IP address, found \"{p.GetValue(host)}\".");
            IPEndPoint? seedNode = null;
            if (p.GetValue(seed) is string s)
            {
                try { seedNode = ClusterConnection.ParseAddresses(s) is [var one] ? one : throw new UsageException($"--seed-node: expected one host:port, found \"{s}\"."); }
                catch (ArgumentException e) { throw new UsageException($"--seed-node: {CommonOptions.WithoutParameter(e)}"); }
            }
            var shardBudget = CommonOptions.ParseBudget(p.GetValue(budget));
            var settings = new SiloSettings(silo, seedNode, address, shardBudget, EigenProCli.Compute(p.GetValue(threads)));
            using var hostRun = ShardSilo.Build(settings, p.GetValue(logLevel));
            using var stop = new CancellationTokenSource();
            Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
            try { hostRun.StartAsync(stop.Token).GetAwaiter().GetResult(); }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                stderr.WriteLine($"error: the silo on {address}:{silo} (gateway {settings.GatewayPort}) did not start: {e.GetBaseException().Message}" +
                    (seedNode is null ? "" : $" Is the seed node {seedNode} running?"));
                return EigenProCli.RuntimeError;
            }
            stderr.WriteLine($"silo {address}:{silo} (gateway {settings.GatewayPort}) joined cluster '{SiloSettings.ClusterId}'" +
                $"{(seedNode is null ? " as its first silo" : $" through {seedNode}")}; shards get {shardBudget} and {settings.Compute!.Threads} thread(s) on {settings.Compute.Path}");
            stdout.WriteLine("ready");
            stdout.Flush();
            hostRun.WaitForShutdownAsync(stop.Token).GetAwaiter().GetResult();
            return EigenProCli.Ok;
        });
        return command;
    }

    private static Command Status(TextWriter stdout, TextWriter stderr)
    {
        var cluster = new Option<string>("--cluster") { Description = "host:port of a silo of the cluster (its --port).", Required = true };
        var timeout = new Option<double>("--cluster-timeout") { Description = "Seconds to wait for the cluster to answer.", DefaultValueFactory = _ => 20 };
        var command = new Command("status", "Print the active silos of a cluster, one per line.") { cluster, timeout };
        command.SetAction(p =>
        {
            using var connection = Connect(p.GetValue(cluster)!, p.GetValue(timeout));
            foreach (var silo in connection.SilosAsync().GetAwaiter().GetResult()) stdout.WriteLine(silo);
            return EigenProCli.Ok;
        });
        return command;
    }

    /// <summary>The request timeout of a coordinator: longer than any shard's request (a load of its centers, a batch).</summary>
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromMinutes(5);

    /// <summary>Connects to <paramref name="addresses"/> ("host:port[,…]") within <paramref name="seconds"/>; an address that does not parse is a usage error.</summary>
    public static ClusterConnection Connect(string addresses, double seconds)
    {
        if (!(seconds > 0)) throw new UsageException($"--cluster-timeout must be positive, found {seconds}.");
        IPEndPoint[] silos;
        try { silos = ClusterConnection.ParseAddresses(addresses); }
        catch (Exception e) when (e is ArgumentException or System.Net.Sockets.SocketException) { throw new UsageException($"--cluster: {CommonOptions.WithoutParameter(e)}"); }
        if (silos.Length == 0) throw new UsageException("--cluster: expected host:port.");
        return ClusterConnection.ConnectAsync(silos, TimeSpan.FromSeconds(seconds), RequestTimeout).GetAwaiter().GetResult();
    }

}
