using System.Net;
using EigenProNet.LinearAlgebra;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Orleans.Configuration;
using Orleans.Hosting;

namespace EigenProNet.Distributed;

/// <summary>
/// Where a silo listens and which cluster it joins. A silo is named by its <see cref="Port"/> everywhere: it talks to
/// other silos there and to clients (coordinators) on <see cref="GatewayPort"/> = Port + 1. Development membership:
/// the first silo (no <see cref="SeedNode"/>) keeps the membership table; the others name it as their seed node
/// (docs/distributed.md gives the ADO.NET membership for deployments that must survive the first silo).
/// </summary>
public sealed record SiloSettings(int Port, IPEndPoint? SeedNode = null, IPAddress? Address = null, MemoryBudget? Budget = null, ComputeContext? Compute = null)
{
    /// <summary>The cluster every EigenProNet silo and client joins.</summary>
    public const string ClusterId = "eigenpro";

    /// <summary>The port clients connect to.</summary>
    public int GatewayPort => Port + 1;

    /// <summary>The address the silo advertises (default loopback).</summary>
    public IPAddress AdvertisedAddress => Address ?? IPAddress.Loopback;
}

/// <summary>Configures a silo to host center shards (used by <c>eigenpro cluster silo</c> and the tests' test cluster).</summary>
public static class ShardSilo
{
    /// <summary>The largest message: a batch of the training rows or a shard's centers (Orleans' default is 100 MB).</summary>
    public const int MaxMessageBytes = 1 << 30;

    /// <summary>Adds what a shard silo needs: the placement, the shards' budget and compute, the message size.</summary>
    public static ISiloBuilder AddCenterShards(this ISiloBuilder silo, MemoryBudget? budget = null, ComputeContext? compute = null)
    {
        silo.Services.AddSingleton(new ShardHostSettings(budget ?? MemoryBudget.Default, compute ?? ComputeContext.Default));
        silo.AddPlacementDirector<ShardPlacement, ShardPlacementDirector>();
        silo.Configure<SiloMessagingOptions>(o => o.MaxMessageBodySize = MaxMessageBytes);
        return silo;
    }

    /// <summary>A host running one silo with <paramref name="settings"/> (started by the caller).</summary>
    public static IHost Build(SiloSettings settings, LogLevel logLevel = LogLevel.Warning)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var builder = Host.CreateApplicationBuilder();
        // The log goes to standard error: standard output is the silo's "ready" line alone. Orleans.Runtime.Silo's
        // warnings are advice on server GC, which a 2-core machine does not need; asked for more, it says all.
        builder.Logging.ClearProviders().AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(logLevel)
            .AddFilter("Orleans.Runtime.Silo", logLevel < LogLevel.Warning ? logLevel : LogLevel.Error);
        builder.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.UseOrleans(silo =>
        {
            var primary = settings.SeedNode ?? new IPEndPoint(settings.AdvertisedAddress, settings.Port);
            silo.UseDevelopmentClustering(primary);
            silo.ConfigureEndpoints(settings.AdvertisedAddress, settings.Port, settings.GatewayPort, listenOnAnyHostAddress: true);
            silo.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (SiloSettings.ClusterId, SiloSettings.ClusterId));
            silo.AddCenterShards(settings.Budget, settings.Compute);
        });
        return builder.Build();
    }
}
