using System.Globalization;
using System.Net;
using EigenProNet.Sharding;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Runtime;

namespace EigenProNet.Distributed;

/// <summary>A cluster address that did not answer, or answered as something else.</summary>
public sealed class ClusterUnavailableException(string message, Exception? inner = null) : IOException(message, inner);

/// <summary>
/// A coordinator's connection to a cluster of shard silos: <see cref="ShardsAsync"/> gives the <see cref="CenterShards"/>
/// an EigenPro 3 run spreads its centers over (one per silo by default). Dispose to disconnect.
/// </summary>
public sealed class ClusterConnection : IAsyncDisposable, IDisposable
{
    private readonly IHost? _host;
    private readonly SiloWatch _watch;

    private ClusterConnection(IClusterClient client, IHost? host)
    {
        Client = client;
        _host = host;
        _watch = new SiloWatch(client, TimeSpan.FromSeconds(1));
    }

    /// <summary>The Orleans client.</summary>
    public IClusterClient Client { get; }

    /// <summary>Over a client someone else started (the tests' test cluster).</summary>
    public static ClusterConnection Over(IClusterClient client) => new(client ?? throw new ArgumentNullException(nameof(client)), null);

    /// <summary>
    /// Parses "host:port[,host:port…]" — silos named by their <c>--port</c>; the client connects to each one's gateway,
    /// Port + 1.
    /// </summary>
    /// <exception cref="ArgumentException">Not a list of host:port, or a host that does not resolve (the part is named).</exception>
    public static IPEndPoint[] ParseAddresses(string addresses)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(addresses);
        return addresses.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(part =>
        {
            int colon = part.LastIndexOf(':');
            if (colon <= 0 || !int.TryParse(part.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port < 1 || port > 65534)
                throw new ArgumentException($"Expected host:port with a port in 1…65534, found \"{part}\".", nameof(addresses));
            string host = part[..colon];
            if (IPAddress.TryParse(host, out var ip)) return new IPEndPoint(ip, port);
            try
            {
                var address = Dns.GetHostAddresses(host).FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
                    ?? throw new ArgumentException($"The host \"{host}\" has no IPv4 address.", nameof(addresses));
                return new IPEndPoint(address, port);
            }
            catch (System.Net.Sockets.SocketException e)
            {
                throw new ArgumentException($"The host \"{host}\" could not be resolved: {e.Message}.", nameof(addresses), e);
            }
        }).ToArray();
    }

    /// <summary>Connects to the silos at <paramref name="silos"/> (their <c>--port</c>s) within <paramref name="timeout"/>; requests time out after <paramref name="requestTimeout"/>.</summary>
    /// <exception cref="ClusterUnavailableException">No silo answered in time.</exception>
    public static async Task<ClusterConnection> ConnectAsync(IReadOnlyList<IPEndPoint> silos, TimeSpan timeout, TimeSpan requestTimeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(silos);
        if (silos.Count == 0) throw new ArgumentException("Expected at least one silo address.", nameof(silos));
        var gateways = silos.Select(s => new IPEndPoint(s.Address, s.Port + 1)).ToArray();
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        var deadline = DateTime.UtcNow + timeout;
        builder.UseOrleansClient(client =>
        {
            client.UseStaticClustering(gateways);
            client.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (SiloSettings.ClusterId, SiloSettings.ClusterId));
            client.Configure<ClientMessagingOptions>(o => (o.MaxMessageBodySize, o.ResponseTimeout) = (ShardSilo.MaxMessageBytes, requestTimeout));
            client.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromSeconds(5));
            client.UseConnectionRetryFilter((_, ct) => DelayUntil(deadline, ct));
        });
        var host = builder.Build();
        string where = string.Join(", ", silos.Select(s => $"{s} (gateway {s.Port + 1})"));
        try
        {
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            limit.CancelAfter(timeout + TimeSpan.FromSeconds(1));
            await host.StartAsync(limit.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            host.Dispose();
            throw new ClusterUnavailableException(
                $"No EigenProNet silo answered at {where} within {timeout.TotalSeconds:G3} s: is `eigenpro cluster silo --port P` running there? ({e.GetBaseException().Message})", e);
        }
        return new ClusterConnection(host.Services.GetRequiredService<IClusterClient>(), host);
    }

    private static async Task<bool> DelayUntil(DateTime deadline, CancellationToken ct)
    {
        if (DateTime.UtcNow >= deadline) return false;
        await Task.Delay(TimeSpan.FromMilliseconds(500), ct).ConfigureAwait(false);
        return DateTime.UtcNow < deadline;
    }

    /// <summary>The silos that are active members of the cluster now.</summary>
    public async Task<IReadOnlyList<string>> SilosAsync()
    {
        var hosts = await Client.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true).ConfigureAwait(false);
        return [.. hosts.Keys.Select(s => s.ToParsableString()).Order(StringComparer.Ordinal)];
    }

    /// <summary><paramref name="count"/> shards (default: one per active silo) for a new run.</summary>
    public async Task<CenterShards> ShardsAsync(int? count = null, string? run = null)
    {
        int k = count ?? (await SilosAsync().ConfigureAwait(false)).Count;
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(count), k, "Expected at least one shard.");
        run = string.IsNullOrEmpty(run) ? Guid.NewGuid().ToString("N") : run;
        return new CenterShards([.. Enumerable.Range(0, k).Select(i => (ICenterShard)new GrainCenterShard(Client.GetGrain<ICenterShardGrain>(new ShardKey(run, i).ToString()), _watch))], run);
    }

    public async ValueTask DisposeAsync()
    {
        await _watch.DisposeAsync().ConfigureAwait(false);
        if (_host is null) return;
        try { await _host.StopAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false); }
        catch (Exception e) when (e is OperationCanceledException or OrleansException or IOException) { }
        _host.Dispose();
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}
