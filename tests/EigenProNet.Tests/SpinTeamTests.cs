using EigenProNet.LinearAlgebra;

namespace EigenProNet.Tests;

public class SpinTeamTests
{
    [Fact]
    public void EveryMemberRunsEachStepOnceAndTheCallerWaitsForAll()
    {
        using var team = new SpinTeam(3);
        var counts = new int[3];
        long total = 0;
        for (int step = 0; step < 5000; step++)
        {
            int s = step;
            team.Run(t =>
            {
                counts[t]++;
                Interlocked.Add(ref total, s);
            });
            // After Run returns, every member has finished this step (no member is still inside it).
            Assert.Equal(step + 1, Volatile.Read(ref counts[0]));
            Assert.Equal(step + 1, Volatile.Read(ref counts[1]));
            Assert.Equal(step + 1, Volatile.Read(ref counts[2]));
        }
        Assert.Equal(3L * 4999 * 5000 / 2, total);
    }

    [Fact]
    public void StepsAfterAnIdlePauseStillRunOnEveryMember()
    {
        // Workers block after spinning for a while: a step after a pause must wake them.
        using var team = new SpinTeam(2);
        for (int step = 0; step < 3; step++)
        {
            Thread.Sleep(20);
            int ran = 0;
            team.Run(_ => Interlocked.Increment(ref ran));
            Assert.Equal(2, ran);
        }
    }

    [Fact]
    public void AMembersFailureIsRethrownAndTheTeamGoesOn()
    {
        using var team = new SpinTeam(2);
        var e = Assert.Throws<InvalidOperationException>(() => team.Run(t => { if (t == 1) throw new InvalidOperationException("member 1"); }));
        Assert.Equal("member 1", e.Message);
        Assert.Throws<ArgumentException>(() => team.Run(t => { if (t == 0) throw new ArgumentException("caller"); }));
        int ran = 0;
        team.Run(_ => Interlocked.Increment(ref ran));
        Assert.Equal(2, ran);
    }

    [Fact]
    public void ATeamOfOneRunsOnTheCaller()
    {
        using var team = new SpinTeam(1);
        int thread = -1;
        team.Run(_ => thread = Environment.CurrentManagedThreadId);
        Assert.Equal(Environment.CurrentManagedThreadId, thread);
        Assert.Throws<ArgumentOutOfRangeException>(() => new SpinTeam(0));
    }
}
