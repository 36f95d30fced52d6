using Orleans.Placement;
using Orleans.Runtime;
using Orleans.Runtime.Placement;

namespace EigenProNet.Distributed;

/// <summary>
/// Shard i of k on silo i mod N (the compatible silos in address order): a 2-shard run on 2 silos uses both, never
/// one twice, whatever order the shards are first called in. A shard whose silo left goes to the silos that remain.
/// </summary>
[GenerateSerializer, Immutable, SuppressReferenceTracking]
public sealed class ShardPlacement : PlacementStrategy;

/// <summary>Places a shard grain by <see cref="ShardPlacement"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class ShardPlacementAttribute() : PlacementAttribute(new ShardPlacement());

internal sealed class ShardPlacementDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var silos = context.GetCompatibleSilos(target).OrderBy(s => s.ToParsableString(), StringComparer.Ordinal).ToArray();
        if (silos.Length == 0) throw new OrleansException("No silo can host a center shard.");
        return Task.FromResult(silos[ShardKey.Parse(target.GrainIdentity.Key.ToString()!).Index % silos.Length]);
    }
}

/// <summary>A shard grain's key: "run/index".</summary>
internal readonly record struct ShardKey(string Run, int Index)
{
    public override string ToString() => $"{Run}/{Index}";

    public static ShardKey Parse(string key)
    {
        int slash = key.LastIndexOf('/');
        return slash > 0 && int.TryParse(key.AsSpan(slash + 1), out int index) && index >= 0
            ? new ShardKey(key[..slash], index)
            : throw new ArgumentException($"A shard key is \"run/index\", found \"{key}\".", nameof(key));
    }
}
